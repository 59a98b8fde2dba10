#include "weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "half.h"

typedef struct loader {
    const weight_source *src;
    backend *be;
    weights *w;
    int32_t matrix_dtype;
    nt5_status st;
} loader;

/* One part of a (possibly fused) matrix: a tensor name and its rows. */
typedef struct part {
    char name[160];
    int64_t rows;
} part;

/* Loads parts stacked by rows into one [sum rows, cols] backend buffer
 * (cols == 0: a vector), stored as `dtype`. */
static const void *load_parts(loader *L, const part *parts, int n_parts, int64_t cols, int32_t dtype) {
    if (L->st != NT5_OK) return NULL;
    int64_t rows = 0;
    for (int i = 0; i < n_parts; i++) rows += parts[i].rows;
    size_t width = cols ? (size_t)cols : 1;
    size_t n = (size_t)rows * width;
    void **grown = realloc(L->w->owned, (L->w->n_owned + 1) * sizeof *grown);
    float *host = malloc(n * sizeof(float));
    if (grown) L->w->owned = grown;
    if (!grown || !host) {
        free(host);
        L->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory loading %s (%zu floats)", parts[0].name, n);
        return NULL;
    }
    float *at = host;
    for (int i = 0; i < n_parts && L->st == NT5_OK; i++) {
        L->st = L->src->fill(L->src->self, parts[i].name, parts[i].rows, cols, at);
        at += (size_t)parts[i].rows * width;
    }
    if (L->st != NT5_OK) {
        free(host);
        return NULL;
    }
    size_t bytes = n * sizeof(float);
    void *stored = host;
    if (dtype == NT5_DTYPE_BF16) { /* in place: the bf16 copy is half the size */
        half_from_f32(host, host, n, NT5_DTYPE_BF16);
        bytes = n * sizeof(uint16_t);
    }
    void *dev = L->be->ops->adopt_weight(L->be, stored, bytes);
    if (!dev) {
        L->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of device memory loading %s", parts[0].name);
        return NULL;
    }
    L->w->owned[L->w->n_owned++] = dev;
    return dev;
}

/* An fp32 vector or table: norm scales, position-bias tables. */
static const float *load_f32(loader *L, int64_t rows, int64_t cols, const char *fmt, const char *prefix) {
    part p = {.rows = rows};
    snprintf(p.name, sizeof p.name, fmt, prefix);
    return load_parts(L, &p, 1, cols, NT5_DTYPE_F32);
}

static wmat load_matrix(loader *L, int64_t rows, int64_t cols, const char *fmt, const char *prefix) {
    part p = {.rows = rows};
    snprintf(p.name, sizeof p.name, fmt, prefix);
    return (wmat){load_parts(L, &p, 1, cols, L->matrix_dtype), L->matrix_dtype};
}

/* prefix e.g. "encoder.block.3.layer.0.SelfAttention" ; names: q,k,v */
static wmat load_fused(loader *L, const char *prefix, const char *const *names, int n, int64_t rows, int64_t cols) {
    part parts[3];
    for (int i = 0; i < n; i++) {
        snprintf(parts[i].name, sizeof parts[i].name, "%s.%s.weight", prefix, names[i]);
        parts[i].rows = rows;
    }
    return (wmat){load_parts(L, parts, n, cols, L->matrix_dtype), L->matrix_dtype};
}

static void load_ffn(loader *L, const t5_config *c, const char *prefix, wmat *wi, wmat *wo) {
    static const char *const gated[] = {"wi_0", "wi_1"};
    static const char *const plain[] = {"wi"};
    *wi = load_fused(L, prefix, c->gated ? gated : plain, c->gated ? 2 : 1, c->d_ff, c->d_model);
    *wo = load_matrix(L, c->d_model, c->d_ff, "%s.wo.weight", prefix);
}

static const float *load_bias(loader *L, const t5_config *c, const char *prefix, int layer, const float *first) {
    if (layer > 0 && !c->bias_every_layer) return first;
    return load_f32(L, c->num_buckets, c->num_heads, "%s.relative_attention_bias.weight", prefix);
}

static void load_encoder(loader *L, const t5_config *c) {
    static const char *const qkv[] = {"q", "k", "v"};
    int64_t d = c->d_model, inner = (int64_t)c->num_heads * c->d_kv;
    char pre[128];
    for (int i = 0; i < c->num_layers && L->st == NT5_OK; i++) {
        enc_layer *e = &L->w->enc[i];
        snprintf(pre, sizeof pre, "encoder.block.%d.layer.0", i);
        e->ln_attn = load_f32(L, d, 0, "%s.layer_norm.weight", pre);
        snprintf(pre, sizeof pre, "encoder.block.%d.layer.0.SelfAttention", i);
        e->qkv = load_fused(L, pre, qkv, 3, inner, d);
        e->o = load_matrix(L, d, inner, "%s.o.weight", pre);
        e->bias = load_bias(L, c, pre, i, L->w->enc[0].bias);
        snprintf(pre, sizeof pre, "encoder.block.%d.layer.1", i);
        e->ln_ff = load_f32(L, d, 0, "%s.layer_norm.weight", pre);
        snprintf(pre, sizeof pre, "encoder.block.%d.layer.1.DenseReluDense", i);
        load_ffn(L, c, pre, &e->wi, &e->wo);
    }
    L->w->enc_final_ln = load_f32(L, d, 0, "%s.final_layer_norm.weight", "encoder");
}

static void load_decoder(loader *L, const t5_config *c) {
    static const char *const qkv[] = {"q", "k", "v"};
    static const char *const kv[] = {"k", "v"};
    int64_t d = c->d_model, inner = (int64_t)c->num_heads * c->d_kv;
    char pre[128];
    for (int i = 0; i < c->num_decoder_layers && L->st == NT5_OK; i++) {
        dec_layer *e = &L->w->dec[i];
        snprintf(pre, sizeof pre, "decoder.block.%d.layer.0", i);
        e->ln_self = load_f32(L, d, 0, "%s.layer_norm.weight", pre);
        snprintf(pre, sizeof pre, "decoder.block.%d.layer.0.SelfAttention", i);
        e->qkv = load_fused(L, pre, qkv, 3, inner, d);
        e->o = load_matrix(L, d, inner, "%s.o.weight", pre);
        e->bias = load_bias(L, c, pre, i, L->w->dec[0].bias);
        snprintf(pre, sizeof pre, "decoder.block.%d.layer.1", i);
        e->ln_cross = load_f32(L, d, 0, "%s.layer_norm.weight", pre);
        snprintf(pre, sizeof pre, "decoder.block.%d.layer.1.EncDecAttention", i);
        e->cross_q = load_matrix(L, inner, d, "%s.q.weight", pre);
        e->cross_kv = load_fused(L, pre, kv, 2, inner, d);
        e->cross_o = load_matrix(L, d, inner, "%s.o.weight", pre);
        snprintf(pre, sizeof pre, "decoder.block.%d.layer.2", i);
        e->ln_ff = load_f32(L, d, 0, "%s.layer_norm.weight", pre);
        snprintf(pre, sizeof pre, "decoder.block.%d.layer.2.DenseReluDense", i);
        load_ffn(L, c, pre, &e->wi, &e->wo);
    }
    L->w->dec_final_ln = load_f32(L, d, 0, "%s.final_layer_norm.weight", "decoder");
    if (c->tie_word_embeddings) L->w->lm_head = L->w->shared;
    else L->w->lm_head = load_matrix(L, c->vocab_size, d, "%s.weight", "lm_head");
}

/* The shared embedding under any of the names checkpoints use for it. */
static const char *embedding_name(const weight_source *src) {
    static const char *const names[] = {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
    for (int i = 0; i < 3; i++)
        if (src->has(src->self, names[i])) return names[i];
    return names[0];
}

nt5_status weights_load(const t5_config *cfg, int with_decoder, int32_t matrix_dtype, const weight_source *src,
                        backend *be, weights *w) {
    memset(w, 0, sizeof *w);
    loader L = {src, be, w, matrix_dtype, NT5_OK};
    w->enc = calloc((size_t)cfg->num_layers, sizeof *w->enc);
    w->dec = with_decoder ? calloc((size_t)cfg->num_decoder_layers + 1, sizeof *w->dec) : NULL;
    if (!w->enc || (with_decoder && !w->dec)) L.st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    w->shared = load_matrix(&L, cfg->vocab_size, cfg->d_model, "%s", embedding_name(src));
    load_encoder(&L, cfg);
    if (with_decoder) load_decoder(&L, cfg);
    if (L.st != NT5_OK) weights_free(w, be);
    return L.st;
}

void weights_free(weights *w, backend *be) {
    for (size_t i = 0; i < w->n_owned; i++) be->ops->free_weight(be, w->owned[i]);
    free(w->owned);
    free(w->enc);
    free(w->dec);
    memset(w, 0, sizeof *w);
}
