/* The CUDA backend's other ops, each launching its kernels. */
#ifndef NT5_KERNELS_OPS_H
#define NT5_KERNELS_OPS_H

#include "kernels/host/internal.h"

void cuda_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
void cuda_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                  float eps, float scale);
void cuda_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                         size_t M, size_t F, activation act, int gated);
void cuda_attention(exec_ctx *x, const attn_args *a);
void cuda_zero(exec_ctx *x, float *p, size_t n);
void cuda_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n);
void cuda_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos, const float *src,
                      size_t ld_src, size_t batch, size_t cols);
void cuda_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count,
                        size_t block_elems, size_t stride);

#endif
