/* libFuzzer harness: the safetensors header validator; every byte of every
 * tensor it accepts is read, so a bound that lets a tensor point outside
 * the buffer shows. */
#include <stddef.h>
#include <stdint.h>

#include "format/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file *f = NULL;
    if (st_parse(data, size, "fuzz", &f) == NT5_OK) {
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < f->count; i++) {
            (void)st_find(f, f->tensors[i].name);
            for (size_t b = 0; b < f->tensors[i].nbytes; b++) sum ^= f->tensors[i].data[b];
        }
        st_close(f);
    }
    return 0;
}
