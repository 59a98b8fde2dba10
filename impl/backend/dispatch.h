/* The one way into a backend's ops (backend/backend.h): a call begins an
 * exec context on a backend, runs ops through these functions and ends it.
 * Once an op has failed, the context keeps its status and no later op runs,
 * so callers check exec_status() where they need a result, not after every
 * op. Releases and the end of recordings and of the call run regardless,
 * so nothing leaks on a failed call. */
#ifndef NT5_IMPL_DISPATCH_H
#define NT5_IMPL_DISPATCH_H

#include "backend/backend.h"

/* x on be (zeroed first); the status the call starts with. */
nt5_status exec_begin(const backend *be, exec_ctx *x);
/* Waits for the call's work and frees its scratch; the call's status. */
nt5_status exec_end(exec_ctx *x);
/* After the caller's code ran within the call (a token callback). */
void exec_resume(exec_ctx *x);
static inline nt5_status exec_status(const exec_ctx *x) { return x->status; }
/* The backend's computes_in_weight_dtype (backend.h). */
int exec_computes_in_weight_dtype(const exec_ctx *x);
/* The backend's row classes for batch invariance (backend.h), NULL if none. */
const row_classes *backend_row_classes(const backend *be);

/* NULL on a failed context (or for n == 0) */
float *op_alloc(exec_ctx *x, size_t n);
void op_release(exec_ctx *x, float *p);
void op_upload(exec_ctx *x, float *dst, const float *src, size_t n);
void op_upload_ints(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n);
void op_download(exec_ctx *x, float *dst, const float *src, size_t n);
void op_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx);
void op_free_recorded(exec_ctx *x, void *slot);

void op_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
void op_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                float eps, float scale);
void op_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in, const wmat *w,
               size_t M, size_t N, size_t K, int accumulate);
void op_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                    size_t ld_in, const wmat *w, size_t M, size_t N, size_t K);
void op_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                       size_t M, size_t F, activation act, int gated);
void op_attention(exec_ctx *x, const attn_args *a);
void op_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs);
void op_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                    const double *u, int32_t *ids, float *logprobs);
void op_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                        beam_candidate *out);
void op_zero(exec_ctx *x, float *p, size_t n);
void op_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n);
void op_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos, const float *src,
                    size_t ld_src, size_t batch, size_t cols);
void op_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count, size_t block_elems,
                      size_t stride);

#endif
