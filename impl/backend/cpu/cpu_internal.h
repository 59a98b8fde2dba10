/* Shared between the CPU backend's files: its state and its ops. */
#ifndef NT5_IMPL_CPU_INTERNAL_H
#define NT5_IMPL_CPU_INTERNAL_H

#include "backend/backend.h"
#include "backend/cpu/cpu_pool.h"

typedef struct cpu_backend {
    backend base;
    cpu_pool *pool;
} cpu_backend;

/* The pool of the backend running x (its exec_begin put the backend in x->scratch). */
static inline cpu_pool *cpu_pool_of(const exec_ctx *x) { return ((const cpu_backend *)x->scratch)->pool; }

/* Whether dtype is NT5_DTYPE_F32, the only one the CPU's buffers hold;
 * records an internal error otherwise. */
int cpu_is_f32(exec_ctx *x, int32_t dtype, const char *op);

/* cpu_rows.c */
void cpu_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
void cpu_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows,
                 size_t d, float eps, float scale);
void cpu_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in,
                        size_t ld_in, size_t M, size_t F, activation act, int gated);
/* cpu_linear.c */
void cpu_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in,
                const wmat *w, size_t M, size_t N, size_t K, int accumulate);
void cpu_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                     size_t ld_in, const wmat *w, size_t M, size_t N, size_t K);
/* cpu_attention.c */
void cpu_attention(exec_ctx *x, const attn_args *a);
/* cpu_picks.c */
void cpu_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs);
void cpu_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                     const double *u, int32_t *ids, float *logprobs);
void cpu_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                         beam_candidate *out);

#endif
