/* libFuzzer harness: the safetensors header validator. */
#include <stddef.h>
#include <stdint.h>

#include "format/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file *f = NULL;
    if (st_parse(data, size, "fuzz", &f) == NT5_OK) {
        for (size_t i = 0; i < f->count; i++) (void)st_find(f, f->tensors[i].name);
        st_close(f);
    }
    return 0;
}
