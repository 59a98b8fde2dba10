#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_CAPACITY 1024

static _Thread_local char err_buffer[ERR_CAPACITY];

nt5_status err_set(nt5_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buffer, sizeof err_buffer, fmt, ap);
    va_end(ap);
    return status;
}

nt5_status err_wrap(nt5_status status, const char *fmt, ...) {
    char old[ERR_CAPACITY];
    memcpy(old, err_buffer, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err_buffer, sizeof err_buffer, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof err_buffer ? (size_t)n : sizeof err_buffer - 1;
    size_t room = sizeof err_buffer - used; /* including the final NUL */
    if (room > 3) {
        size_t keep = strnlen(old, room - 3);
        memcpy(err_buffer + used, ": ", 2);
        memcpy(err_buffer + used + 2, old, keep);
        err_buffer[used + 2 + keep] = '\0';
    }
    return status;
}

void err_clear(void) { err_buffer[0] = '\0'; }

const char *err_message(void) { return err_buffer; }
