/* A stored tensor's values as a model reads them: its shape checked
 * against what the config needs, its F32, F16 or BF16 values as floats. */
#ifndef NT5_IMPL_TENSOR_VALUES_H
#define NT5_IMPL_TENSOR_VALUES_H

#include <stdint.h>

#include "format/safetensors.h"

/* Checks t's shape against [rows, cols] (cols == 0: a vector of rows) and
 * that its dtype is one nt5 reads; `name` names it in the error. */
nt5_status tensor_check(const st_tensor *t, const char *name, int64_t rows, int64_t cols);
/* tensor_check, then its values as floats times 2^exp into dst [rows * max(cols, 1)]. */
nt5_status tensor_read(const st_tensor *t, const char *name, int64_t rows, int64_t cols, int exp, float *dst);
/* NT5_DTYPE_BF16 or NT5_DTYPE_F16 for tensors stored so, else (and for NULL) NT5_DTYPE_F32. */
int32_t tensor_dtype(const st_tensor *t);

#endif
