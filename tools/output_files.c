#include "output_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nt5.h"

/* Opens a temporary file beside `path`; its name goes to tmp. */
static FILE *open_temp(const char *path, char *tmp, size_t cap) {
    snprintf(tmp, cap, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "nt5: cannot write %s: %s\n", path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) close(fd);
    return f;
}

/* Closes, renames into place on success, removes the temporary otherwise. */
static int finish_temp(FILE *f, const char *tmp, const char *path, int ok) {
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) ok = 0;
    if (fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0) return 0;
    fprintf(stderr, "nt5: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return 1;
}

static size_t elem_size(int32_t dtype) { return dtype == NT5_DTYPE_F32 ? 4 : 2; }

int write_npy(const char *path, const void *data, int32_t dtype, const size_t shape[3]) {
    if (dtype == NT5_DTYPE_BF16) {
        fprintf(stderr, "nt5: .npy has no bfloat16 type; write .safetensors or use --dtype f32/f16\n");
        return 1;
    }
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu, %zu), }",
                     dtype == NT5_DTYPE_F32 ? "<f4" : "<f2", shape[0], shape[1], shape[2]);
    size_t total = 10 + (size_t)n + 1, padded = (total + 63) / 64 * 64;
    memset(header + n, ' ', padded - total);
    header[n + (padded - total)] = '\n';
    uint16_t hlen = (uint16_t)(padded - 10);
    char tmp[4200];
    FILE *f = open_temp(path, tmp, sizeof tmp);
    if (!f) return 1;
    size_t count = shape[0] * shape[1] * shape[2];
    int ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fwrite(&hlen, 2, 1, f) == 1 &&
             fwrite(header, 1, hlen, f) == hlen && fwrite(data, elem_size(dtype), count, f) == count;
    return finish_temp(f, tmp, path, ok);
}

int write_safetensors(const char *path, const void *data, int32_t dtype, const size_t shape[3], const size_t *lengths) {
    size_t count = shape[0] * shape[1] * shape[2], bytes = count * elem_size(dtype);
    static const char *const names[] = {"F32", "F16", "BF16"};
    char header[512];
    int n = snprintf(
        header, sizeof header,
        "{\"__metadata__\":{\"format\":\"nt5\"},\"hidden_states\":{\"dtype\":\"%s\",\"shape\":[%zu,%zu,%zu],"
        "\"data_offsets\":[0,%zu]},\"lengths\":{\"dtype\":\"I64\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}}",
        names[dtype], shape[0], shape[1], shape[2], bytes, shape[0], bytes, bytes + 8 * shape[0]);
    size_t padded = ((size_t)n + 7) / 8 * 8;
    memset(header + n, ' ', padded - (size_t)n);
    uint64_t hlen = padded;
    char tmp[4200];
    FILE *f = open_temp(path, tmp, sizeof tmp);
    if (!f) return 1;
    int ok = fwrite(&hlen, 8, 1, f) == 1 && fwrite(header, 1, padded, f) == padded &&
             fwrite(data, 1, bytes, f) == bytes;
    for (size_t b = 0; b < shape[0] && ok; b++) {
        int64_t v = (int64_t)lengths[b];
        ok = fwrite(&v, 8, 1, f) == 1;
    }
    return finish_temp(f, tmp, path, ok);
}
