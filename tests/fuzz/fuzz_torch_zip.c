/* libFuzzer harness: PyTorch zip checkpoints (minizip records + unpickler),
 * read from a file as nt5 reads them. */
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
    if (torch_bin_open(path, &st) == NT5_OK) st_close(st);
    unlink(path);
    return 0;
}
