#include "backend/dispatch.h"

#include <string.h>

/* Runs backend op `op` with x and the arguments unless the call has failed. */
#define RUN(op, ...)                                                                                                   \
    if (x->status == NT5_OK) x->be->ops->op(x, __VA_ARGS__)

nt5_status exec_begin(const backend *be, exec_ctx *x) {
    memset(x, 0, sizeof *x);
    nt5_status st = be->ops->exec_begin(be, x);
    x->be = be;
    return st;
}

nt5_status exec_end(exec_ctx *x) { return x->be->ops->exec_end(x); }

void exec_resume(exec_ctx *x) {
    if (x->be->ops->resume) x->be->ops->resume(x);
}

int exec_computes_in_weight_dtype(const exec_ctx *x) { return x->be->ops->computes_in_weight_dtype; }

const row_classes *backend_row_classes(const backend *be) {
    return be->ops->row_classes ? be->ops->row_classes(be) : NULL;
}

float *op_alloc(exec_ctx *x, size_t n) { return x->status == NT5_OK && n ? x->be->ops->alloc(x, n) : NULL; }

void op_release(exec_ctx *x, float *p) {
    if (p) x->be->ops->release(x, p);
}

void op_upload(exec_ctx *x, float *dst, const float *src, size_t n) { RUN(upload, dst, src, n); }

void op_upload_ints(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n) { RUN(upload_ints, dst, src, n); }

void op_download(exec_ctx *x, float *dst, const float *src, size_t n) { RUN(download, dst, src, n); }

void op_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx) {
    RUN(run_recorded, slot, body, ctx);
}

void op_free_recorded(exec_ctx *x, void *slot) {
    if (slot) x->be->ops->free_recorded(x, slot);
}

void op_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d) {
    RUN(embed, out, table, ids, n, d);
}

void op_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                float eps, float scale) {
    RUN(rmsnorm, out, out_dtype, in, w, rows, d, eps, scale);
}

void op_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in, const wmat *w,
               size_t M, size_t N, size_t K, int accumulate) {
    /* a matrix in parts: each part's rows fill their columns of out */
    for (int32_t i = 0; i < w->n_parts; i++) {
        size_t rows = N / (size_t)w->n_parts;
        RUN(linear, out + (size_t)i * rows, ld_out, in, in_dtype, ld_in, &w->parts[i], M, rows, K, accumulate);
    }
    if (!w->parts) RUN(linear, out, ld_out, in, in_dtype, ld_in, w, M, N, K, accumulate);
}

void op_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                    size_t ld_in, const wmat *w, size_t M, size_t N, size_t K) {
    RUN(linear_relu, out, out_dtype, out_scale, in, in_dtype, ld_in, w, M, N, K);
}

void op_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                       size_t M, size_t F, activation act, int gated) {
    RUN(ffn_activation, out, out_dtype, out_scale, in, ld_in, M, F, act, gated);
}

void op_attention(exec_ctx *x, const attn_args *a) { RUN(attention, a); }

void op_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs) {
    RUN(greedy_pick, logits, rows, V, ids, logprobs);
}

void op_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                    const double *u, int32_t *ids, float *logprobs) {
    RUN(sample_pick, logits, rows, V, o, u, ids, logprobs);
}

void op_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                        beam_candidate *out) {
    RUN(beam_candidates, logits, rows, V, base, n, out);
}

void op_zero(exec_ctx *x, float *p, size_t n) { RUN(zero, p, n); }

void op_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n) {
    RUN(store, dst, on_device, dtype, src, n);
}

void op_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos, const float *src,
                    size_t ld_src, size_t batch, size_t cols) {
    RUN(append_rows, dst, block_stride, ld_dst, pos, src, ld_src, batch, cols);
}

void op_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count, size_t block_elems,
                      size_t stride) {
    RUN(gather_blocks, dst, src, index, count, block_elems, stride);
}
