#include "output_files.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nt5.h"

FILE *open_temp(const char *path, char *tmp, size_t cap) {
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

/* Flushes the directory that holds path, so that a rename in it survives a
 * power loss. */
static int sync_parent(const char *path) {
    char copy[4200];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int finish_temp(FILE *f, const char *tmp, const char *path, int ok) {
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) ok = 0;
    if (fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0 && sync_parent(path) == 0) return 0;
    fprintf(stderr, "nt5: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return 1;
}

size_t dtype_size(int32_t dtype) { return dtype == NT5_DTYPE_F32 ? 4 : 2; }

const char *st_dtype_name(int32_t dtype) {
    return dtype == NT5_DTYPE_F32 ? "F32" : dtype == NT5_DTYPE_F16 ? "F16" : "BF16";
}

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
             fwrite(header, 1, hlen, f) == hlen && fwrite(data, dtype_size(dtype), count, f) == count;
    return finish_temp(f, tmp, path, ok);
}

/* The JSON header: every tensor's dtype, shape and byte range, then spaces
 * to a multiple of 8 bytes. NULL without memory. */
static char *safetensors_header(const char *const *metadata, size_t n_metadata, const st_tensor *t, size_t n) {
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(root, "__metadata__");
    for (size_t i = 0; meta && i + 1 < n_metadata; i += 2) cJSON_AddStringToObject(meta, metadata[i], metadata[i + 1]);
    size_t offset = 0;
    for (size_t i = 0; root && i < n; i++) {
        cJSON *entry = cJSON_AddObjectToObject(root, t[i].name), *shape = cJSON_CreateArray(),
              *range = cJSON_CreateArray();
        cJSON_AddStringToObject(entry, "dtype", t[i].dtype);
        for (size_t d = 0; d < t[i].rank; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
        cJSON_AddItemToArray(range, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(range, cJSON_CreateNumber((double)(offset += t[i].bytes)));
        cJSON_AddItemToObject(entry, "shape", shape);
        cJSON_AddItemToObject(entry, "data_offsets", range);
    }
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

int write_safetensors_tensors(const char *path, const char *const *metadata, size_t n_metadata,
                              const st_tensor *tensors, size_t n) {
    char *header = safetensors_header(metadata, n_metadata, tensors, n);
    if (!header) {
        fprintf(stderr, "nt5: out of memory writing %s\n", path);
        return 1;
    }
    size_t len = strlen(header);
    uint64_t padded = (len + 7) / 8 * 8;
    char tmp[4200];
    FILE *f = open_temp(path, tmp, sizeof tmp);
    int ok = f && fwrite(&padded, 8, 1, f) == 1 && fwrite(header, 1, len, f) == len;
    for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (size_t i = 0; ok && i < n; i++)
        ok = tensors[i].data ? fwrite(tensors[i].data, 1, tensors[i].bytes, f) == tensors[i].bytes
                             : tensors[i].write(f, tensors[i].ctx) == 0;
    free(header);
    return f ? finish_temp(f, tmp, path, ok) : 1;
}

int write_safetensors(const char *path, const void *data, int32_t dtype, const size_t shape[3], const size_t *lengths) {
    int64_t *lengths64 = malloc((shape[0] ? shape[0] : 1) * sizeof *lengths64);
    if (!lengths64) {
        fprintf(stderr, "nt5: out of memory writing %s\n", path);
        return 1;
    }
    for (size_t b = 0; b < shape[0]; b++) lengths64[b] = (int64_t)lengths[b];
    static const char *const metadata[] = {"format", "nt5"};
    st_tensor t[2] = {
        {.name = "hidden_states",
         .dtype = st_dtype_name(dtype),
         .rank = 3,
         .shape = {shape[0], shape[1], shape[2]},
         .bytes = shape[0] * shape[1] * shape[2] * dtype_size(dtype),
         .data = data},
        {.name = "lengths", .dtype = "I64", .rank = 1, .shape = {shape[0]}, .bytes = 8 * shape[0], .data = lengths64},
    };
    int rc = write_safetensors_tensors(path, metadata, 2, t, 2);
    free(lengths64);
    return rc;
}
