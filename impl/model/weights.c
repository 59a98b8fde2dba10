#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/half.h"
#include "format/weight_names.h"
#include "quant/block_type.h"

typedef struct loader {
    const weight_source *src;
    backend *be;
    weights *w;
    int gated; /* the FFN is gated: names the parts of "wi" */
    int32_t matrix_dtype;
    int tied_head; /* the embedding is also the lm_head */
    nt5_status st;
} loader;

/* Counts the NaN and infinite values of the nt5 tensor `name` ([rows, cols],
 * just filled) and names the Hugging Face tensor of the first one. */
static void count_non_finite(loader *L, const char *name, const float *v, int64_t rows, int64_t cols) {
    size_t n = (size_t)rows * (cols ? (size_t)cols : 1), bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) && bad++ == 0) first = i;
    if (!bad) return;
    if (L->w->non_finite == 0) {
        char parts[HF_PARTS_MAX][HF_NAME_MAX];
        int n_parts = hf_parts(L->gated, name, parts); /* stacked by rows, equal in size */
        size_t part = n_parts > 1 ? first / (cols ? (size_t)cols : 1) / ((size_t)rows / (size_t)n_parts) : 0;
        snprintf(L->w->first_non_finite, sizeof L->w->first_non_finite, "%.*s", HF_NAME_MAX - 1,
                 n_parts > 0 ? parts[part] : name);
    }
    L->w->non_finite += bad;
}

/* How a tensor is held: dtype (in: the one asked for), its bytes, the F16
 * exponent; a matrix kept in parts of different block types names them. */
typedef struct held_form {
    int32_t dtype;
    size_t bytes;
    int32_t weight_exp;
    int32_t n_parts;
    int32_t part_dtypes[HF_PARTS_MAX];
} held_form;

/* Blocks of n values of type bt whose scales are not finite: an error naming the tensor. */
static nt5_status check_scales(const char *name, const block_type *bt, const void *blocks, size_t n) {
    size_t bad = block_type_bad_scales(bt, blocks, n);
    if (bad)
        return err_set(NT5_ERR_FORMAT, "tensor %s has %zu %s blocks whose scales are NaN or infinite", name, bad,
                       bt->name);
    return NT5_OK;
}

/* The blocks of `name` as the source stores them when that is type bt
 * (NT5_OK), or NT5_ERR_UNSUPPORTED when it stores them otherwise; a block
 * whose scales are not finite is an error. */
static nt5_status fill_stored_blocks(loader *L, const char *name, int64_t rows, int64_t cols, const block_type *bt,
                                     void *dst) {
    if (!L->src->fill_blocks) return NT5_ERR_UNSUPPORTED;
    nt5_status st = L->src->fill_blocks(L->src->self, name, rows, cols, bt->dtype, dst);
    return st == NT5_OK ? check_scales(name, bt, dst, (size_t)rows * (size_t)cols) : st;
}

/* The source's blocks of `name` when it stores them in a block type nt5
 * holds whose rows fit cols (f->dtype first, then the others), as they
 * are; NT5_ERR_UNSUPPORTED when it stores none. */
static nt5_status fill_kept_blocks(loader *L, const char *name, int64_t rows, int64_t cols, held_form *f, void *host) {
    size_t n = (size_t)rows * (size_t)cols;
    for (int32_t d = -1; d <= NT5_DTYPE_Q4_K; d++) {
        const block_type *bt = block_type_of(d < 0 ? f->dtype : d);
        if (!bt || (d >= 0 && d == f->dtype) || (size_t)cols % bt->values) continue;
        nt5_status st = fill_stored_blocks(L, name, rows, cols, bt, host);
        if (st == NT5_ERR_UNSUPPORTED) continue;
        f->dtype = bt->dtype;
        f->bytes = block_type_row_bytes(bt, n);
        return st;
    }
    return NT5_ERR_UNSUPPORTED;
}

/* A fused matrix whose parts the source stores in different block types
 * nt5 holds, as they are, in parts; NT5_ERR_UNSUPPORTED when it is not one. */
static nt5_status fill_part_blocks(loader *L, const char *name, int64_t rows, int64_t cols, held_form *f, void *host) {
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    int n = hf_parts(L->gated, name, names);
    if (n < 2 || !L->src->fill_part_blocks) return NT5_ERR_UNSUPPORTED;
    nt5_status st = L->src->fill_part_blocks(L->src->self, name, rows, cols, n, f->part_dtypes, host);
    size_t part_values = (size_t)rows / (size_t)n * (size_t)cols;
    f->bytes = 0;
    for (int i = 0; st == NT5_OK && i < n; i++) {
        const block_type *bt = block_type_of(f->part_dtypes[i]);
        st = check_scales(name, bt, (const char *)host + f->bytes, part_values);
        f->bytes += block_type_row_bytes(bt, part_values);
    }
    if (st != NT5_OK) return st;
    f->dtype = f->part_dtypes[0];
    f->n_parts = n;
    return NT5_OK;
}

/* The source's values of `name` converted in place (host holds n floats)
 * into f->dtype. For a block dtype, blocks the source stores are taken as
 * they are instead (fill_kept_blocks, fill_part_blocks; f says which). */
static nt5_status fill_converted(loader *L, const char *name, int64_t rows, int64_t cols, held_form *f, float *host) {
    size_t n = (size_t)rows * (cols ? (size_t)cols : 1);
    const block_type *bt = block_type_of(f->dtype);
    if (bt) {
        nt5_status st = fill_kept_blocks(L, name, rows, cols, f, host);
        if (st == NT5_ERR_UNSUPPORTED) st = fill_part_blocks(L, name, rows, cols, f, host);
        if (st != NT5_ERR_UNSUPPORTED) return st;
    }
    nt5_status st = L->src->fill(L->src->self, name, rows, cols, host);
    if (st != NT5_OK) return st;
    size_t before = L->w->non_finite;
    count_non_finite(L, name, host, rows, cols);
    f->bytes = n * sizeof(float);
    if (bt) {
        if (L->w->non_finite != before)
            return err_set(NT5_ERR_FORMAT, "tensor %s has NaN or infinite values, which %s cannot hold", name,
                           bt->name);
        bt->quantize(host, n, host); /* in place: the blocks are smaller */
        f->bytes = block_type_row_bytes(bt, n);
    } else if (f->dtype != NT5_DTYPE_F32) { /* in place: the 16-bit copy is half the size */
        f->weight_exp = f->dtype == NT5_DTYPE_F16 ? f16_exponent(host, n) : 0;
        half_from_f32_scaled(host, host, n, f->dtype, f->weight_exp);
        f->bytes = n * sizeof(uint16_t);
    }
    return NT5_OK;
}

/* Tensor t's parts as matrices of their own (held in f's part dtypes, one
 * after another), of t's entry `index` in the tensor list. */
static nt5_status make_parts(weight_tensor *t, int32_t index, const held_form *f) {
    if (!(t->parts = calloc((size_t)f->n_parts, sizeof *t->parts)))
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory loading %s", t->name);
    t->n_parts = f->n_parts;
    size_t part_values = (size_t)t->rows / (size_t)f->n_parts * (size_t)t->cols, at = 0;
    for (int32_t i = 0; i < f->n_parts; i++) {
        t->parts[i] = (wmat){(const char *)t->data + at, f->part_dtypes[i], index, 0, -1, NULL, 0};
        at += block_type_row_bytes(block_type_of(f->part_dtypes[i]), part_values);
    }
    return NT5_OK;
}

/* Loads the nt5 tensor `name` ([rows, cols]; cols == 0: a vector) into a
 * backend buffer stored as `dtype`, or, for a block dtype, as the source's
 * blocks when it stores them in types nt5 holds: the last entry of the
 * tensor list says which. */
static const void *load_tensor(loader *L, const char *name, int64_t rows, int64_t cols, int32_t dtype) {
    if (L->st != NT5_OK || (L->st = L->src->check(L->src->self, name, rows, cols)) != NT5_OK) return NULL;
    size_t n = (size_t)rows * (cols ? (size_t)cols : 1);
    weight_tensor *grown = realloc(L->w->tensors, (L->w->n_tensors + 1) * sizeof *grown);
    float *host = malloc(n * sizeof(float));
    if (grown) L->w->tensors = grown;
    if (!grown || !host) {
        free(host);
        L->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory loading %s (%zu floats)", name, n);
        return NULL;
    }
    held_form f = {.dtype = dtype};
    L->st = fill_converted(L, name, rows, cols, &f, host);
    if (L->st != NT5_OK) {
        free(host);
        return NULL;
    }
    /* the converted values fill the buffer's start: give back the rest (a backend keeping host memory keeps this) */
    void *shrunk = f.bytes < n * sizeof(float) ? realloc(host, f.bytes) : host;
    void *dev = L->be->ops->adopt_weight(L->be, shrunk ? shrunk : host, f.bytes);
    if (!dev) {
        L->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of device memory loading %s", name);
        return NULL;
    }
    weight_tensor *t = &L->w->tensors[L->w->n_tensors++];
    *t = (weight_tensor){.data = dev,
                         .dtype = f.dtype,
                         .rows = rows,
                         .cols = cols,
                         .bytes = f.bytes,
                         .weight_exp = f.weight_exp,
                         .input_exp = -1};
    snprintf(t->name, sizeof t->name, "%s", name);
    if (f.n_parts && (L->st = make_parts(t, (int32_t)L->w->n_tensors - 1, &f)) != NT5_OK) return NULL;
    return dev;
}

/* An fp32 vector or table of layer `block`: norm scales, position-bias tables. */
static const float *load_f32(loader *L, const char *fmt, int block, int64_t rows, int64_t cols) {
    char name[64];
    snprintf(name, sizeof name, fmt, block);
    return load_tensor(L, name, rows, cols, NT5_DTYPE_F32);
}

/* The dtype of a matrix [rows, cols]: the model's, except with blocks:
 * rows that are not whole blocks fall back to Q8_0's 32-value blocks, or
 * fp32, and the embedding is Q8_0 (a lookup dequantizes its rows exactly),
 * or fp32 when it is also the lm_head (tied) or its rows are not whole Q8_0
 * blocks. A block matrix the source stores in a block type nt5 holds keeps
 * it (a GGUF file's, also a _M mix's other type: load_tensor). */
static int32_t matrix_dtype_of(const loader *L, const char *name, int64_t cols) {
    const block_type *bt = block_type_of(L->matrix_dtype), *q8_0 = block_type_of(NT5_DTYPE_Q8_0);
    int embedding = strcmp(name, "shared") == 0;
    if (!bt) return L->matrix_dtype;
    int fits_q8_0 = (size_t)cols % q8_0->values == 0;
    if (embedding) return fits_q8_0 && !L->tied_head ? NT5_DTYPE_Q8_0 : NT5_DTYPE_F32;
    return (size_t)cols % bt->values == 0 ? bt->dtype : fits_q8_0 ? NT5_DTYPE_Q8_0 : NT5_DTYPE_F32;
}

/* A matrix; its products' calibrated input exponent is the one of
 * `product` (the lm_head's for a tied embedding), or of the matrix itself. */
static wmat load_matrix_for(loader *L, const char *name, const char *product, int64_t rows, int64_t cols) {
    int32_t dtype = matrix_dtype_of(L, name, cols);
    const void *data = load_tensor(L, name, rows, cols, dtype);
    if (!data) return (wmat){NULL, dtype, -1, 0, -1, NULL, 0};
    weight_tensor *t = &L->w->tensors[L->w->n_tensors - 1];
    t->matrix = 1;
    t->input_exp = L->src->input_exp(L->src->self, product ? product : name);
    return (wmat){data, t->dtype, (int32_t)L->w->n_tensors - 1, t->weight_exp, t->input_exp, t->parts, t->n_parts};
}

static wmat load_matrix(loader *L, const char *fmt, int block, int64_t rows, int64_t cols) {
    char name[64];
    snprintf(name, sizeof name, fmt, block);
    return load_matrix_for(L, name, NULL, rows, cols);
}

/* The position-bias table: layer 0 owns it, except in UMT5 where every layer does. */
static const float *load_bias(loader *L, const t5_config *c, const char *fmt, int layer, const float *first) {
    if (layer > 0 && !c->bias_every_layer) return first;
    return load_f32(L, fmt, layer, c->num_buckets, c->num_heads);
}

static void load_encoder(loader *L, const t5_config *c) {
    int64_t d = c->d_model, inner = (int64_t)c->num_heads * c->d_kv, wide = c->gated ? 2 * c->d_ff : c->d_ff;
    for (int i = 0; i < c->num_layers && L->st == NT5_OK; i++) {
        enc_layer *e = &L->w->enc[i];
        e->ln_attn = load_f32(L, "enc.%d.ln_attn", i, d, 0);
        e->qkv = load_matrix(L, "enc.%d.qkv", i, 3 * inner, d);
        e->o = load_matrix(L, "enc.%d.o", i, d, inner);
        e->bias = load_bias(L, c, "enc.%d.bias", i, L->w->enc[0].bias);
        e->ln_ff = load_f32(L, "enc.%d.ln_ff", i, d, 0);
        e->wi = load_matrix(L, "enc.%d.wi", i, wide, d);
        e->wo = load_matrix(L, "enc.%d.wo", i, d, c->d_ff);
    }
    L->w->enc_final_ln = load_f32(L, "enc.final_ln", -1, d, 0);
}

static void load_decoder(loader *L, const t5_config *c) {
    int64_t d = c->d_model, inner = (int64_t)c->num_heads * c->d_kv, wide = c->gated ? 2 * c->d_ff : c->d_ff;
    for (int i = 0; i < c->num_decoder_layers && L->st == NT5_OK; i++) {
        dec_layer *e = &L->w->dec[i];
        e->ln_self = load_f32(L, "dec.%d.ln_self", i, d, 0);
        e->qkv = load_matrix(L, "dec.%d.qkv", i, 3 * inner, d);
        e->o = load_matrix(L, "dec.%d.o", i, d, inner);
        e->bias = load_bias(L, c, "dec.%d.bias", i, L->w->dec[0].bias);
        e->ln_cross = load_f32(L, "dec.%d.ln_cross", i, d, 0);
        e->cross_q = load_matrix(L, "dec.%d.cross_q", i, inner, d);
        e->cross_kv = load_matrix(L, "dec.%d.cross_kv", i, 2 * inner, d);
        e->cross_o = load_matrix(L, "dec.%d.cross_o", i, d, inner);
        e->ln_ff = load_f32(L, "dec.%d.ln_ff", i, d, 0);
        e->wi = load_matrix(L, "dec.%d.wi", i, wide, d);
        e->wo = load_matrix(L, "dec.%d.wo", i, d, c->d_ff);
    }
    L->w->dec_final_ln = load_f32(L, "dec.final_ln", -1, d, 0);
    if (c->tie_word_embeddings) L->w->lm_head = L->w->shared;
    else L->w->lm_head = load_matrix(L, "lm_head", -1, c->vocab_size, d);
}

nt5_status weights_load(const t5_config *cfg, int with_decoder, int32_t matrix_dtype, const weight_source *src,
                        backend *be, weights *w) {
    memset(w, 0, sizeof *w);
    w->matrix_dtype = matrix_dtype;
    /* a tied embedding is also the lm_head: its products are the lm_head's */
    int tied_head = with_decoder && cfg->tie_word_embeddings;
    loader L = {src, be, w, cfg->gated, matrix_dtype, tied_head, NT5_OK};
    w->enc = calloc((size_t)cfg->num_layers, sizeof *w->enc);
    w->dec = with_decoder ? calloc((size_t)cfg->num_decoder_layers + 1, sizeof *w->dec) : NULL;
    if (!w->enc || (with_decoder && !w->dec)) L.st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    w->shared = load_matrix_for(&L, "shared", tied_head ? "lm_head" : NULL, cfg->vocab_size, cfg->d_model);
    load_encoder(&L, cfg);
    if (with_decoder) load_decoder(&L, cfg);
    if (L.st != NT5_OK) weights_free(w, be);
    return L.st;
}

void weights_free(weights *w, backend *be) {
    for (size_t i = 0; i < w->n_tensors; i++) {
        be->ops->free_weight(be, w->tensors[i].data);
        free(w->tensors[i].parts);
    }
    free(w->tensors);
    free(w->enc);
    free(w->dec);
    memset(w, 0, sizeof *w);
}
