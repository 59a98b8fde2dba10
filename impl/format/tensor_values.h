/* A stored tensor's values as a model reads them: its shape checked
 * against what the config needs, its F32, F16, BF16 or fp8 (format/fp8.h)
 * values as floats (exp applies to the 16-bit dtypes: nt5 files). */
#ifndef NT5_IMPL_TENSOR_VALUES_H
#define NT5_IMPL_TENSOR_VALUES_H

#include <stdint.h>

#include "format/safetensors.h"

/* Checks t's shape against [rows, cols] (cols == 0: a vector of rows) and
 * that its dtype is one nt5 reads; `name` names it in the error. */
nt5_status tensor_check(const st_tensor *t, const char *name, int64_t rows, int64_t cols);
/* tensor_check, then its values as floats times 2^exp into dst [rows * max(cols, 1)]. */
nt5_status tensor_read(const st_tensor *t, const char *name, int64_t rows, int64_t cols, int exp, float *dst);
/* NT5_DTYPE_BF16 or NT5_DTYPE_F16 for tensors stored so (fp8: BF16, which
 * holds every fp8 value), else (and for NULL) NT5_DTYPE_F32. */
int32_t tensor_dtype(const st_tensor *t);

#endif
