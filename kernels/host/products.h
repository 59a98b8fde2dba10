/* The CUDA backend's matrix products through cuBLASLt (backend.h linear,
 * linear_relu). */
#ifndef NT5_KERNELS_PRODUCTS_H
#define NT5_KERNELS_PRODUCTS_H

#include "kernels/host/internal.h"

void cuda_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in, const wmat *w,
                 size_t M, size_t N, size_t K, int accumulate);
void cuda_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                      size_t ld_in, const wmat *w, size_t M, size_t N, size_t K);

#endif
