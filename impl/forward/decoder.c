#include "forward/decoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/dispatch.h"
#include "base/error.h"
#include "forward/blocks.h"

/* The encoder output [enc_rows, d_model] as every layer's cross K/V product
 * takes it: cast once into *cast when they all take the same 16-bit input
 * unscaled (bf16 on a GPU), else the fp32 output, which each product casts
 * itself. *dtype: the input's dtype. */
static const void *cross_kv_input(exec_ctx *x, const t5_config *c, const weights *w, const float *enc_out,
                                  size_t enc_rows, float **cast, int32_t *dtype) {
    int shared = c->num_decoder_layers > 1;
    product_input first = shared ? block_input_of(x, &w->dec[0].cross_kv) : (product_input){NT5_DTYPE_F32, 1.0f};
    shared = shared && first.dtype != NT5_DTYPE_F32 && first.scale == 1.0f;
    for (int l = 1; shared && l < c->num_decoder_layers; l++) {
        product_input p = block_input_of(x, &w->dec[l].cross_kv);
        shared = p.dtype == first.dtype && p.scale == 1.0f;
    }
    size_t n = enc_rows * (size_t)c->d_model;
    *cast = shared ? op_alloc(x, (n + 1) / 2) : NULL; /* n 16-bit values */
    if (!*cast) {
        *dtype = NT5_DTYPE_F32;
        return enc_out;
    }
    op_store(x, *cast, 1, first.dtype, enc_out, n);
    *dtype = first.dtype;
    return *cast;
}

nt5_status decoder_init(exec_ctx *x, const t5_config *c, const weights *w, const float *enc_out, size_t enc_batch,
                        size_t enc_len, const size_t *enc_valid, size_t kv_group, size_t max_len, decoder_state *s) {
    memset(s, 0, sizeof *s);
    size_t L = (size_t)c->num_decoder_layers, d = (size_t)c->d_model, inner = block_inner(c), F = (size_t)c->d_ff;
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
    float *cast;
    int32_t kv_in_dtype;
    const void *kv_in = cross_kv_input(x, c, w, enc_out, enc_rows, &cast, &kv_in_dtype);
    for (size_t l = 0; l < L; l++) {
        s->self_kv[l] = op_alloc(x, s->batch * max_len * 2 * inner);
        s->cross_kv[l] = op_alloc(x, enc_rows * 2 * inner);
        /* cross-attention K/V from the encoder output, once per call */
        op_linear(x, s->cross_kv[l], 2 * inner, kv_in, kv_in_dtype, d, &w->dec[l].cross_kv, enc_rows, 2 * inner, d, 0);
    }
    op_release(x, cast);
    if (kv_group > 1) {
        s->spare_kv = op_alloc(x, s->batch * max_len * 2 * inner);
        s->reorder = (int32_t *)op_alloc(x, s->batch);
    }
    s->step_ids = (int32_t *)op_alloc(x, rows);
    s->step_pos = (int32_t *)op_alloc(x, 1);
    s->h = op_alloc(x, rows * d);
    s->n = op_alloc(x, rows * d);
    s->qkv = op_alloc(x, rows * 3 * inner);
    s->attn = op_alloc(x, rows * inner);
    s->ff = op_alloc(x, block_ffn_floats(c, rows));
    s->act = op_alloc(x, rows * F);
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
    size_t rows = s->batch, d = (size_t)c->d_model, inner = block_inner(c);
    op_embed(x, s->h, &w->shared, s->step_ids, rows, d);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        const dec_layer *L = &w->dec[l];
        float *cache = s->self_kv[l];
        block_norm_for(x, &L->qkv, s->n, s->h, L->ln_self, rows, c, 1.0f);
        block_linear(x, s->qkv, 3 * inner, s->n, &L->qkv, rows, 3 * inner, d, 0);
        /* this step's k|v rows into the cache [batch, max_len, 2 * inner] at the step's position */
        op_append_rows(x, cache, s->max_len * 2 * inner, 2 * inner, s->step_pos, s->qkv + inner, 3 * inner, s->batch,
                       2 * inner);
        product_input po = block_input_of(x, &L->o);
        attn_args self = {
            .out = s->attn,
            .out_dtype = po.dtype,
            .out_scale = po.scale,
            .q = s->qkv,
            .k = cache,
            .v = cache + inner,
            .ld_out = inner,
            .ld_q = 3 * inner,
            .ld_kv = 2 * inner,
            .batch = s->batch,
            .q_len = 1,
            .kv_len = s->max_len,
            .kv_rows = s->max_len,
            .heads = (size_t)c->num_heads,
            .d_kv = (size_t)c->d_kv,
            .kv_group = 1,
            .bias_table = L->bias,
            .bidirectional = 0,
            .num_buckets = c->num_buckets,
            .max_distance = c->max_distance,
            .step_pos = s->step_pos,
            .causal = 1,
            .compute_dtype = block_compute_dtype(x, &L->qkv),
        };
        op_attention(x, &self);
        block_linear(x, s->h, d, s->attn, &L->o, rows, d, inner, 1);

        block_norm_for(x, &L->cross_q, s->n, s->h, L->ln_cross, rows, c, 1.0f);
        block_linear(x, s->qkv, inner, s->n, &L->cross_q, rows, inner, d, 0);
        product_input pc = block_input_of(x, &L->cross_o);
        attn_args cross = {
            .out = s->attn,
            .out_dtype = pc.dtype,
            .out_scale = pc.scale,
            .q = s->qkv,
            .k = s->cross_kv[l],
            .v = s->cross_kv[l] + inner,
            .ld_out = inner,
            .ld_q = inner,
            .ld_kv = 2 * inner,
            .batch = s->batch,
            .q_len = 1,
            .kv_len = s->enc_len,
            .kv_rows = s->enc_len,
            .heads = (size_t)c->num_heads,
            .d_kv = (size_t)c->d_kv,
            .kv_group = s->kv_group,
            .kv_valid = s->enc_valid,
            .compute_dtype = block_compute_dtype(x, &L->cross_q),
        };
        op_attention(x, &cross);
        block_linear(x, s->h, d, s->attn, &L->cross_o, rows, d, inner, 1);
        block_ffn(x, c, L->ln_ff, &L->wi, &L->wo, s->h, s->n, s->ff, s->act, rows);
    }
    /* tied embeddings: the decoder output is scaled by d_model^-0.5 first */
    float scale = c->tie_word_embeddings ? 1.0f / sqrtf((float)d) : 1.0f;
    block_norm_for(x, &w->lm_head, s->n, s->h, w->dec_final_ln, rows, c, scale);
    block_linear(x, k->logits, (size_t)c->vocab_size, s->n, &w->lm_head, rows, (size_t)c->vocab_size, d, 0);
}

void decoder_step(exec_ctx *x, const t5_config *c, const weights *w, decoder_state *s, const int32_t *tokens,
                  float *logits) {
    if (x->status != NT5_OK) return;
    if (s->pos >= s->max_len) {
        x->status = err_set(NT5_ERR_INTERNAL, "decoder step past its cache (%zu tokens)", s->max_len);
        return;
    }
    int32_t pos = (int32_t)s->pos;
    op_upload_ints(x, s->step_ids, tokens, s->batch);
    op_upload_ints(x, s->step_pos, &pos, 1);
    step_work k = {c, w, s, logits};
    /* a reorder moves the caches the recorded step would write */
    if (s->reordered) step_body(x, &k);
    else op_run_recorded(x, &s->recorded, step_body, &k);
    s->pos++;
}

void decoder_reorder(exec_ctx *x, const t5_config *c, decoder_state *s, const int32_t *index) {
    size_t stride = s->max_len * 2 * block_inner(c), used = s->pos * 2 * block_inner(c);
    s->reordered = 1;
    op_upload_ints(x, s->reorder, index, s->batch);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        op_gather_blocks(x, s->spare_kv, s->self_kv[l], s->reorder, s->batch, used, stride);
        float *t = s->self_kv[l];
        s->self_kv[l] = s->spare_kv;
        s->spare_kv = t;
    }
}

void decoder_free(exec_ctx *x, const t5_config *c, decoder_state *s) {
    if (s->recorded) op_free_recorded(x, s->recorded);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        if (s->self_kv) op_release(x, s->self_kv[l]);
        if (s->cross_kv) op_release(x, s->cross_kv[l]);
    }
    free(s->self_kv);
    free(s->cross_kv);
    float *bufs[] = {s->spare_kv,
                     (float *)s->reorder,
                     (float *)s->step_ids,
                     (float *)s->step_pos,
                     s->h,
                     s->n,
                     s->qkv,
                     s->attn,
                     s->ff,
                     s->act};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) op_release(x, bufs[i]);
    memset(s, 0, sizeof *s);
}
