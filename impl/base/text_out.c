#include "base/text_out.h"

#include <string.h>

#include "base/error.h"

nt5_status text_out(const char *text, char *out, size_t capacity, size_t *length) {
    size_t n = strlen(text);
    if (length) *length = n;
    if (!out || n + 1 > capacity)
        return err_set(NT5_ERR_BUFFER_TOO_SMALL, "%zu bytes (and a NUL) do not fit in %zu", n, capacity);
    memcpy(out, text, n + 1);
    return NT5_OK;
}
