#include "forward/forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/half.h"

#define OPS(x) ((x)->be->ops)

static size_t inner_of(const t5_config *c) { return (size_t)c->num_heads * (size_t)c->d_kv; }

/* The dtype a product with w runs in on this backend. */
static int32_t product_dtype(const exec_ctx *x, const wmat *w) {
    return OPS(x)->computes_in_weight_dtype ? w->dtype : NT5_DTYPE_F32;
}

/* in[M, K] rounded as a half-precision product reads it: f16(in / 2^e) * 2^e
 * (call_hooks.h), into a new [M, K] buffer. */
static float *f16_rounded(exec_ctx *x, const float *in, size_t ld_in, size_t M, size_t K, int e) {
    float *r = OPS(x)->alloc(x, M * K);
    for (size_t i = 0; r && i < M; i++)
        for (size_t k = 0; k < K; k++)
            r[i * K + k] = ldexpf(half_f16_to_f32(half_f32_to_f16(ldexpf(in[i * ld_in + k], -e))), e);
    return r;
}

/* The call's hooks on the fp32 input [M, K] of a product with w: rounded
 * to f16 first (then *in points into the returned buffer, to release) and
 * shown to the observer. */
static float *hooked_input(exec_ctx *x, const wmat *w, const float **in, size_t *ld_in, size_t M, size_t K) {
    float *rounded = NULL;
    if (x->emulate_f16 && w->input_exp >= 0 && x->status == NT5_OK) {
        rounded = f16_rounded(x, *in, *ld_in, M, K, w->input_exp);
        *in = rounded;
        *ld_in = K;
    }
    if (x->observer && x->status == NT5_OK) x->observer->seen(x->observer->user, w, *in, *ld_in, M, K);
    return rounded;
}

/* out[M, N] (+)= in[M, K] @ w^T for fp32 rows in, through the call's hooks. */
static void linear(exec_ctx *x, float *out, size_t ld_out, const float *in, size_t ld_in, const wmat *w, size_t M,
                   size_t N, size_t K, int accumulate) {
    float *rounded = hooked_input(x, w, &in, &ld_in, M, K);
    OPS(x)->linear(x, out, ld_out, in, NT5_DTYPE_F32, ld_in, w, M, N, K, accumulate);
    OPS(x)->release(x, rounded);
}

/* How a product with w reads its input on this backend (backend.h): fp32,
 * or on a GPU the weight's half dtype, f16 values times 2^-input_exp. */
typedef struct product_input {
    int32_t dtype;
    float scale;
} product_input;

static product_input input_of(const exec_ctx *x, const wmat *w) {
    product_input p = {product_dtype(x, w), 1.0f};
    if (p.dtype == NT5_DTYPE_F16 && w->input_exp > 0) p.scale = ldexpf(1.0f, -w->input_exp);
    return p;
}

/* n [rows, d] = rmsnorm(h) * scale, written as the product with w reads it */
static void norm_for(exec_ctx *x, const wmat *w, float *n, const float *h, const float *ln, size_t rows,
                     const t5_config *c, float scale) {
    product_input p = input_of(x, w);
    OPS(x)->rmsnorm(x, n, p.dtype, h, ln, rows, (size_t)c->d_model, c->eps, scale * p.scale);
}

/* linear() of an input [M, K] that norm_for, the FFN activation or attention wrote for w */
static void linear_prepared(exec_ctx *x, float *out, size_t ld_out, const float *in, const wmat *w, size_t M,
                            size_t N, size_t K, int accumulate) {
    int32_t dtype = input_of(x, w).dtype;
    if (dtype == NT5_DTYPE_F32) linear(x, out, ld_out, in, K, w, M, N, K, accumulate);
    else OPS(x)->linear(x, out, ld_out, in, dtype, K, w, M, N, K, accumulate);
}

/* A non-gated ReLU FFN (T5 v1.0) runs wi's product and the ReLU as one op,
 * with no [rows, d_ff] fp32 buffer between them. */
static int relu_fused(const t5_config *c) { return !c->gated && c->act == ACT_RELU; }

/* floats of the FFN's wide buffer for `rows` rows (none when relu_fused) */
static size_t ff_floats(const t5_config *c, size_t rows) {
    return relu_fused(c) ? 0 : rows * (size_t)c->d_ff * (c->gated ? 2 : 1);
}

/* Pre-norm FFN block: h += wo(act(wi(norm(h)))) for `rows` rows. */
static void ffn_block(exec_ctx *x, const t5_config *c, const float *ln, const wmat *wi, const wmat *wo, float *h,
                      float *n, float *ff, float *act, size_t rows) {
    size_t d = (size_t)c->d_model, F = (size_t)c->d_ff, wide = c->gated ? 2 * F : F;
    norm_for(x, wi, n, h, ln, rows, c, 1.0f);
    product_input p = input_of(x, wo);
    if (relu_fused(c)) {
        const float *in = n;
        size_t ld_in = d;
        int32_t in_dtype = input_of(x, wi).dtype;
        float *rounded = in_dtype == NT5_DTYPE_F32 ? hooked_input(x, wi, &in, &ld_in, rows, d) : NULL;
        OPS(x)->linear_relu(x, act, p.dtype, p.scale, in, in_dtype, ld_in, wi, rows, F, d);
        OPS(x)->release(x, rounded);
    } else {
        linear_prepared(x, ff, wide, n, wi, rows, wide, d, 0);
        OPS(x)->ffn_activation(x, act, p.dtype, p.scale, ff, wide, rows, F, c->act, c->gated);
    }
    linear_prepared(x, h, d, act, wo, rows, d, F, 1);
}

size_t forward_call_floats(const t5_config *c, size_t len, size_t new_tokens, int has_decoder) {
    size_t d = (size_t)c->d_model, inner = inner_of(c), F = (size_t)c->d_ff;
    size_t per_row = 3 * d + 4 * inner + ff_floats(c, 1) + F + 1; /* h, n, out | qkv, attn | ff, act | ids */
    size_t floats = len * per_row;
    if (has_decoder)
        floats += (size_t)c->num_decoder_layers * 2 * inner * (new_tokens + len) /* self and cross caches */
                  + per_row + (size_t)c->vocab_size;                              /* a step, logits */
    return floats;
}

void encoder_forward(exec_ctx *x, const t5_config *c, const weights *w, const int32_t *ids, size_t batch,
                     size_t len, const size_t *valid, float *out) {
    size_t rows = batch * len, d = (size_t)c->d_model, inner = inner_of(c), F = (size_t)c->d_ff;
    float *h = OPS(x)->alloc(x, rows * d);          /* [rows, d] residual stream */
    float *n = OPS(x)->alloc(x, rows * d);          /* [rows, d] normed */
    float *qkv = OPS(x)->alloc(x, rows * 3 * inner); /* [rows, 3 * inner] */
    float *attn = OPS(x)->alloc(x, rows * inner);   /* [rows, inner] */
    float *ff = OPS(x)->alloc(x, ff_floats(c, rows)); /* [rows, d_ff or 2 d_ff] */
    float *act = OPS(x)->alloc(x, rows * F);        /* [rows, d_ff] */
    int32_t *dev_ids = (int32_t *)OPS(x)->alloc(x, rows); /* [rows] ids in backend memory */
    OPS(x)->upload_ints(x, dev_ids, ids, rows);
    OPS(x)->embed(x, h, &w->shared, dev_ids, rows, d);
    for (int l = 0; l < c->num_layers; l++) {
        const enc_layer *L = &w->enc[l];
        norm_for(x, &L->qkv, n, h, L->ln_attn, rows, c, 1.0f);
        linear_prepared(x, qkv, 3 * inner, n, &L->qkv, rows, 3 * inner, d, 0);
        product_input po = input_of(x, &L->o);
        attn_args a = {
            .out = attn, .out_dtype = po.dtype, .out_scale = po.scale,
            .q = qkv, .k = qkv + inner, .v = qkv + 2 * inner,
            .ld_out = inner, .ld_q = 3 * inner, .ld_kv = 3 * inner,
            .batch = batch, .q_len = len, .kv_len = len, .kv_rows = len,
            .heads = (size_t)c->num_heads, .d_kv = (size_t)c->d_kv, .kv_group = 1,
            .kv_valid = valid, .bias_table = L->bias, .bidirectional = 1,
            .num_buckets = c->num_buckets, .max_distance = c->max_distance,
            .compute_dtype = product_dtype(x, &L->qkv),
        };
        OPS(x)->attention(x, &a);
        linear_prepared(x, h, d, attn, &L->o, rows, d, inner, 1);
        ffn_block(x, c, L->ln_ff, &L->wi, &L->wo, h, n, ff, act, rows);
    }
    OPS(x)->rmsnorm(x, out, NT5_DTYPE_F32, h, w->enc_final_ln, rows, d, c->eps, 1.0f);
    float *bufs[] = {h, n, qkv, attn, ff, act, (float *)dev_ids};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) OPS(x)->release(x, bufs[i]);
}

nt5_status decoder_init(exec_ctx *x, const t5_config *c, const weights *w, const float *enc_out,
                        size_t enc_batch, size_t enc_len, const size_t *enc_valid, size_t kv_group,
                        size_t max_len, decoder_state *s) {
    memset(s, 0, sizeof *s);
    size_t L = (size_t)c->num_decoder_layers, d = (size_t)c->d_model, inner = inner_of(c), F = (size_t)c->d_ff;
    s->batch = enc_batch * kv_group;
    s->kv_group = kv_group;
    s->enc_batch = enc_batch;
    s->enc_len = enc_len;
    s->enc_valid = enc_valid;
    s->max_len = max_len;
    s->self_kv = calloc(L, sizeof *s->self_kv);
    s->cross_kv = calloc(L, sizeof *s->cross_kv);
    if (!s->self_kv || !s->cross_kv) {
        decoder_free(x, c, s);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    size_t rows = s->batch, enc_rows = enc_batch * enc_len;
    for (size_t l = 0; l < L; l++) {
        s->self_kv[l] = OPS(x)->alloc(x, s->batch * max_len * 2 * inner);
        s->cross_kv[l] = OPS(x)->alloc(x, enc_rows * 2 * inner);
        /* cross-attention K/V from the encoder output, once per call */
        linear(x, s->cross_kv[l], 2 * inner, enc_out, d, &w->dec[l].cross_kv, enc_rows, 2 * inner, d, 0);
    }
    if (kv_group > 1) {
        s->spare_kv = OPS(x)->alloc(x, s->batch * max_len * 2 * inner);
        s->reorder = (int32_t *)OPS(x)->alloc(x, s->batch);
    }
    s->step_ids = (int32_t *)OPS(x)->alloc(x, rows);
    s->step_pos = (int32_t *)OPS(x)->alloc(x, 1);
    s->h = OPS(x)->alloc(x, rows * d);
    s->n = OPS(x)->alloc(x, rows * d);
    s->qkv = OPS(x)->alloc(x, rows * 3 * inner);
    s->attn = OPS(x)->alloc(x, rows * inner);
    s->ff = OPS(x)->alloc(x, ff_floats(c, rows));
    s->act = OPS(x)->alloc(x, rows * F);
    nt5_status st = exec_status(x);
    if (st != NT5_OK) decoder_free(x, c, s);
    return st;
}

/* A decoding step's work: it reads the tokens and the position from
 * backend memory (s->step_ids, s->step_pos), so a GPU can replay it. */
typedef struct step_work {
    const t5_config *c;
    const weights *w;
    decoder_state *s;
    float *logits;
} step_work;

static void step_body(exec_ctx *x, void *ctx) {
    const step_work *k = ctx;
    const t5_config *c = k->c;
    const weights *w = k->w;
    decoder_state *s = k->s;
    size_t rows = s->batch, d = (size_t)c->d_model, inner = inner_of(c);
    OPS(x)->embed(x, s->h, &w->shared, s->step_ids, rows, d);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        const dec_layer *L = &w->dec[l];
        float *cache = s->self_kv[l];
        norm_for(x, &L->qkv, s->n, s->h, L->ln_self, rows, c, 1.0f);
        linear_prepared(x, s->qkv, 3 * inner, s->n, &L->qkv, rows, 3 * inner, d, 0);
        /* this step's k|v rows into the cache [batch, max_len, 2 * inner] at the step's position */
        OPS(x)->append_rows(x, cache, s->max_len * 2 * inner, 2 * inner, s->step_pos, s->qkv + inner, 3 * inner,
                            s->batch, 2 * inner);
        product_input po = input_of(x, &L->o);
        attn_args self = {
            .out = s->attn, .out_dtype = po.dtype, .out_scale = po.scale,
            .q = s->qkv, .k = cache, .v = cache + inner,
            .ld_out = inner, .ld_q = 3 * inner, .ld_kv = 2 * inner,
            .batch = s->batch, .q_len = 1, .kv_len = s->max_len, .kv_rows = s->max_len,
            .heads = (size_t)c->num_heads, .d_kv = (size_t)c->d_kv, .kv_group = 1,
            .bias_table = L->bias, .bidirectional = 0,
            .num_buckets = c->num_buckets, .max_distance = c->max_distance,
            .step_pos = s->step_pos, .causal = 1, .compute_dtype = product_dtype(x, &L->qkv),
        };
        OPS(x)->attention(x, &self);
        linear_prepared(x, s->h, d, s->attn, &L->o, rows, d, inner, 1);

        norm_for(x, &L->cross_q, s->n, s->h, L->ln_cross, rows, c, 1.0f);
        linear_prepared(x, s->qkv, inner, s->n, &L->cross_q, rows, inner, d, 0);
        product_input pc = input_of(x, &L->cross_o);
        attn_args cross = {
            .out = s->attn, .out_dtype = pc.dtype, .out_scale = pc.scale,
            .q = s->qkv, .k = s->cross_kv[l], .v = s->cross_kv[l] + inner,
            .ld_out = inner, .ld_q = inner, .ld_kv = 2 * inner,
            .batch = s->batch, .q_len = 1, .kv_len = s->enc_len, .kv_rows = s->enc_len,
            .heads = (size_t)c->num_heads, .d_kv = (size_t)c->d_kv, .kv_group = s->kv_group,
            .kv_valid = s->enc_valid, .compute_dtype = product_dtype(x, &L->cross_q),
        };
        OPS(x)->attention(x, &cross);
        linear_prepared(x, s->h, d, s->attn, &L->cross_o, rows, d, inner, 1);
        ffn_block(x, c, L->ln_ff, &L->wi, &L->wo, s->h, s->n, s->ff, s->act, rows);
    }
    /* tied embeddings: the decoder output is scaled by d_model^-0.5 first */
    float scale = c->tie_word_embeddings ? 1.0f / sqrtf((float)d) : 1.0f;
    norm_for(x, &w->lm_head, s->n, s->h, w->dec_final_ln, rows, c, scale);
    linear_prepared(x, k->logits, (size_t)c->vocab_size, s->n, &w->lm_head, rows, (size_t)c->vocab_size, d, 0);
}

void decoder_step(exec_ctx *x, const t5_config *c, const weights *w, decoder_state *s, const int32_t *tokens,
                  float *logits) {
    if (x->status != NT5_OK) return;
    if (s->pos >= s->max_len) {
        x->status = err_set(NT5_ERR_INTERNAL, "decoder step past its cache (%zu tokens)", s->max_len);
        return;
    }
    int32_t pos = (int32_t)s->pos;
    OPS(x)->upload_ints(x, s->step_ids, tokens, s->batch);
    OPS(x)->upload_ints(x, s->step_pos, &pos, 1);
    step_work k = {c, w, s, logits};
    /* a reorder moves the caches the recorded step would write */
    if (s->reordered) step_body(x, &k);
    else OPS(x)->run_recorded(x, &s->recorded, step_body, &k);
    s->pos++;
}

void decoder_reorder(exec_ctx *x, const t5_config *c, decoder_state *s, const int32_t *index) {
    size_t stride = s->max_len * 2 * inner_of(c), used = s->pos * 2 * inner_of(c);
    s->reordered = 1;
    OPS(x)->upload_ints(x, s->reorder, index, s->batch);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        OPS(x)->gather_blocks(x, s->spare_kv, s->self_kv[l], s->reorder, s->batch, used, stride);
        float *t = s->self_kv[l];
        s->self_kv[l] = s->spare_kv;
        s->spare_kv = t;
    }
}

void decoder_free(exec_ctx *x, const t5_config *c, decoder_state *s) {
    if (s->recorded) OPS(x)->free_recorded(x, s->recorded);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        if (s->self_kv) OPS(x)->release(x, s->self_kv[l]);
        if (s->cross_kv) OPS(x)->release(x, s->cross_kv[l]);
    }
    free(s->self_kv);
    free(s->cross_kv);
    float *bufs[] = {s->spare_kv, (float *)s->reorder, (float *)s->step_ids, (float *)s->step_pos, s->h, s->n, s->qkv, s->attn, s->ff,
                     s->act};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) OPS(x)->release(x, bufs[i]);
    memset(s, 0, sizeof *s);
}
