#include "forward/blocks.h"

#include <math.h>

#include "backend/dispatch.h"

size_t block_inner(const t5_config *c) { return (size_t)c->num_heads * (size_t)c->d_kv; }

int32_t block_compute_dtype(const exec_ctx *x, const wmat *w) {
    return exec_computes_in_weight_dtype(x) ? w->dtype : NT5_DTYPE_F32;
}

product_input block_input_of(const exec_ctx *x, const wmat *w) {
    product_input p = {block_compute_dtype(x, w), 1.0f};
    if (p.dtype == NT5_DTYPE_F16 && w->input_exp > 0) p.scale = ldexpf(1.0f, -w->input_exp);
    return p;
}

void block_norm_for(exec_ctx *x, const wmat *w, float *n, const float *h, const float *ln, size_t rows,
                    const t5_config *c, float scale) {
    product_input p = block_input_of(x, w);
    op_rmsnorm(x, n, p.dtype, h, ln, rows, (size_t)c->d_model, c->eps, scale * p.scale);
}

void block_linear(exec_ctx *x, float *out, size_t ld_out, const float *in, const wmat *w, size_t M, size_t N, size_t K,
                  int accumulate) {
    op_linear(x, out, ld_out, in, block_input_of(x, w).dtype, K, w, M, N, K, accumulate);
}

/* A non-gated ReLU FFN (T5 v1.0) runs wi's product and the ReLU as one op,
 * with no [rows, d_ff] fp32 buffer between them. */
static int relu_fused(const t5_config *c) { return !c->gated && c->act == ACT_RELU; }

size_t block_ffn_floats(const t5_config *c, size_t rows) {
    return relu_fused(c) ? 0 : rows * (size_t)c->d_ff * (c->gated ? 2 : 1);
}

void block_ffn(exec_ctx *x, const t5_config *c, const float *ln, const wmat *wi, const wmat *wo, float *h, float *n,
               float *ff, float *act, size_t rows) {
    size_t d = (size_t)c->d_model, F = (size_t)c->d_ff, wide = c->gated ? 2 * F : F;
    block_norm_for(x, wi, n, h, ln, rows, c, 1.0f);
    product_input p = block_input_of(x, wo);
    if (relu_fused(c)) {
        op_linear_relu(x, act, p.dtype, p.scale, n, block_input_of(x, wi).dtype, d, wi, rows, F, d);
    } else {
        block_linear(x, ff, wide, n, wi, rows, wide, d, 0);
        op_ffn_activation(x, act, p.dtype, p.scale, ff, wide, rows, F, c->act, c->gated);
    }
    block_linear(x, h, d, act, wo, rows, d, F, 1);
}
