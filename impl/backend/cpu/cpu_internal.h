/* Shared between the CPU backend's files. */
#ifndef NT5_IMPL_CPU_INTERNAL_H
#define NT5_IMPL_CPU_INTERNAL_H

#include "backend/backend.h"
#include "backend/cpu/cpu_pool.h"
#include "model/weights.h"

typedef struct cpu_backend {
    backend base;
    cpu_pool *pool;
} cpu_backend;

static inline cpu_pool *cpu_pool_of(const exec_ctx *x) { return ((const cpu_backend *)x->be)->pool; }

/* Splits `total` items into pieces of at least `grain`, at most one per thread. */
size_t cpu_split_count(const exec_ctx *x, size_t total, size_t grain);
/* [begin, end) of piece `piece` of `pieces`, piece sizes a multiple of align. */
void cpu_piece_range(size_t total, size_t pieces, size_t piece, size_t align, size_t *begin, size_t *end);

void cpu_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
/* Whether dtype is NT5_DTYPE_F32, the only one the CPU's buffers hold;
 * records an internal error otherwise. */
int cpu_is_f32(exec_ctx *x, int32_t dtype, const char *op);

void cpu_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows,
                 size_t d, float eps, float scale);
void cpu_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in,
                const wmat *w, size_t M, size_t N, size_t K, int accumulate);
void cpu_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                     size_t ld_in, const wmat *w, size_t M, size_t N, size_t K);
void cpu_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in,
                        size_t ld_in, size_t M, size_t F, activation act, int gated);
void cpu_attention(exec_ctx *x, const attn_args *a);

#endif
