/* Writing arrays to .npy and .safetensors files, atomically (temporary
 * file in the same directory, then rename). */
#ifndef NT5_CLI_OUTPUT_FILES_H
#define NT5_CLI_OUTPUT_FILES_H

#include <stddef.h>
#include <stdint.h>

/* dtype is NT5_DTYPE_*; shape has 3 dims. Returns 0 on success. */
int write_npy(const char *path, const void *data, int32_t dtype, const size_t shape[3]);
/* Writes "hidden_states" [shape] and "lengths" (I64 [shape[0]]). */
int write_safetensors(const char *path, const void *data, int32_t dtype, const size_t shape[3], const size_t *lengths);

#endif
