/* The pieces the encoder and decoder stacks are built of, over the
 * backend's ops: how a product reads its input on this backend, the
 * pre-norm that writes it, and the FFN block. */
#ifndef NT5_IMPL_BLOCKS_H
#define NT5_IMPL_BLOCKS_H

#include "backend/backend.h"
#include "model/config.h"

/* num_heads * d_kv: the width of q, k, v and the attention output */
size_t block_inner(const t5_config *c);

/* How a product with w reads its input on this backend (backend.h): fp32,
 * or on a GPU the weight's half dtype, f16 values times 2^-input_exp. */
typedef struct product_input {
    int32_t dtype;
    float scale;
} product_input;
product_input block_input_of(const exec_ctx *x, const wmat *w);

/* n [rows, d_model] = rmsnorm(h) * ln * scale, written as the product with w reads it */
void block_norm_for(exec_ctx *x, const wmat *w, float *n, const float *h, const float *ln, size_t rows,
                    const t5_config *c, float scale);
/* out[M, N] (+)= in[M, K] @ w^T for an input [M, K] (dense) that block_norm_for,
 * the FFN activation or attention wrote for w */
void block_linear(exec_ctx *x, float *out, size_t ld_out, const float *in, const wmat *w, size_t M, size_t N, size_t K,
                  int accumulate);
/* Floats of the FFN's wide buffer for `rows` rows (none for a non-gated
 * ReLU FFN, whose product and activation are one op). */
size_t block_ffn_floats(const t5_config *c, size_t rows);
/* Pre-norm FFN block: h += wo(act(wi(norm(h) * ln))) for `rows` rows; n [rows,
 * d_model], ff [block_ffn_floats], act [rows, d_ff] are its buffers. */
void block_ffn(exec_ctx *x, const t5_config *c, const float *ln, const wmat *wi, const wmat *wo, float *h, float *n,
               float *ff, float *act, size_t rows);
/* The dtype attention's products compute in ahead of a product with w
 * (attn_args.compute_dtype). */
int32_t block_compute_dtype(const exec_ctx *x, const wmat *w);

#endif
