/* libFuzzer harness: PyTorch zip checkpoints (minizip records + unpickler),
 * read from a file as nt5 reads them; every byte of every tensor it gives
 * back is read, so a bound that lets a tensor point outside the file shows. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "format/torch_bin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/nt5-fuzz-%d.bin", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    st_file *st = NULL;
    if (torch_bin_open(path, &st) == NT5_OK) {
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < st->count; i++)
            for (size_t b = 0; st->tensors[i].data && b < st->tensors[i].nbytes; b++) sum ^= st->tensors[i].data[b];
        st_close(st);
    }
    unlink(path);
    return 0;
}
