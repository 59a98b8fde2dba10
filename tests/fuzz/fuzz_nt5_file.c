/* libFuzzer harness: opening an nt5 file (safetensors container, metadata
 * config and f16 scales, embedded tokenizer, weights checked against the
 * config) through the public API, from a memfd. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nt5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("nt5-fuzz", MFD_CLOEXEC);
    if (fd < 0) return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (write(fd, data, size) == (ssize_t)size) {
        nt5_model_options o;
        nt5_model_options_init(&o, sizeof o);
        o.device = "cpu";
        o.num_threads = 1;
        nt5_model *m = NULL;
        if (nt5_model_open(path, &o, &m) == NT5_OK) {
            int32_t ids[] = {5, 6, 1};
            size_t n = 3;
            nt5_embeddings *e = NULL;
            nt5_encode_ids(m, ids, &n, 1, NULL, &e);
            nt5_embeddings_free(e);
        }
        nt5_model_free(m);
    }
    close(fd);
    return 0;
}
