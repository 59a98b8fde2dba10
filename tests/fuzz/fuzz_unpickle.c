/* libFuzzer harness: the restricted unpickler. */
#include <stddef.h>
#include <stdint.h>

#include "format/unpickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pickled_state s;
    if (unpickle_state_dict(data, size, "fuzz", &s) == NT5_OK) pickled_state_free(&s);
    return 0;
}
