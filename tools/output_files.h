/* Writing arrays to .npy and .safetensors files, atomically (temporary
 * file in the same directory, flushed to disk, then renamed, and the
 * directory flushed). */
#ifndef NT5_CLI_OUTPUT_FILES_H
#define NT5_CLI_OUTPUT_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* dtype is NT5_DTYPE_*; shape has 3 dims. Returns 0 on success. */
int write_npy(const char *path, const void *data, int32_t dtype, const size_t shape[3]);
/* Writes "hidden_states" [shape] and "lengths" (I64 [shape[0]]). */
int write_safetensors(const char *path, const void *data, int32_t dtype, const size_t shape[3], const size_t *lengths);

/* One tensor of a safetensors file: `bytes` bytes that come from data, or,
 * when data is NULL, that write(f, ctx) puts into the file (0 on success). */
typedef struct st_tensor {
    const char *name, *dtype; /* dtype: "F32", "F16", "BF16", "I32", "I64" */
    size_t rank, shape[3], bytes;
    const void *data;
    int (*write)(FILE *f, const void *ctx);
    const void *ctx;
} st_tensor;
/* Writes the tensors, in order, and `metadata` (string pairs: key, value,
 * key, value, ...; n_metadata strings) as path's "__metadata__". Returns 0,
 * or 1 with the reason printed. */
int write_safetensors_tensors(const char *path, const char *const *metadata, size_t n_metadata,
                              const st_tensor *tensors, size_t n);
/* The safetensors dtype name of an NT5_DTYPE_* and its element size. */
const char *st_dtype_name(int32_t dtype);
size_t dtype_size(int32_t dtype);

/* A temporary file beside path (its name to tmp), and its end: flushed to
 * disk and renamed into place when ok, removed otherwise (0 on success;
 * failures are printed). */
FILE *open_temp(const char *path, char *tmp, size_t cap);
int finish_temp(FILE *f, const char *tmp, const char *path, int ok);

#endif
