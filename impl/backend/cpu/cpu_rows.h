/* The CPU backend's row-wise ops (backend.h embed, rmsnorm,
 * ffn_activation): fp32 only. */
#ifndef NT5_IMPL_CPU_ROWS_H
#define NT5_IMPL_CPU_ROWS_H

#include "backend/backend.h"

void cpu_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
void cpu_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                 float eps, float scale);
void cpu_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                        size_t M, size_t F, activation act, int gated);

#endif
