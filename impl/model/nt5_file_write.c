#include "model/nt5_file_write.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dtype_name.h"
#include "base/error.h"
#include "base/file_mode.h"
#include "base/half.h"
#include "format/nt5_format.h"
#include "quant/block_type.h"

/* One tensor as it is written: which weights, in which dtype (blocks: as
 * the model holds them) and, for F16 matrices, stored = value *
 * 2^-weight_exp. */
typedef struct out_tensor {
    const char *name;
    const weight_tensor *t;
    int32_t dtype;
    int weight_exp;
    float input_absmax; /* calibrated maximum of the product's input; < 0: none */
} out_tensor;

typedef struct file_plan {
    out_tensor *tensors;
    size_t count;
    const char *weight_dtype; /* metadata: "f32", "bf16", "f16", "q8_0", "q6_k", "q5_k", "q4_k" */
    int blocks;               /* tensors in blocks: format 2 */
    int parts;                /* a matrix in parts of different block types: format 3 */
} file_plan;

static const char *st_dtype_name(int32_t dtype) {
    return block_type_of(dtype) ? "U8" : dtype == NT5_DTYPE_BF16 ? "BF16" : dtype == NT5_DTYPE_F16 ? "F16" : "F32";
}

static size_t elem_count(const weight_tensor *t) { return (size_t)t->rows * (size_t)(t->cols ? t->cols : 1); }

static size_t out_bytes(const out_tensor *o) {
    if (o->dtype == o->t->dtype) return o->t->bytes; /* as stored (a matrix in parts too) */
    const block_type *bt = block_type_of(o->dtype);
    return bt ? block_type_row_bytes(bt, elem_count(o->t)) : elem_count(o->t) * (o->dtype == NT5_DTYPE_F32 ? 4 : 2);
}

/* The values of tensor `name` as floats in a new host buffer (*out). */
static nt5_status read_floats(const nt5_model *m, const weight_tensor *t, const char *name, float **out) {
    size_t n = elem_count(t), stored = n * (t->dtype == NT5_DTYPE_F32 ? 4 : 2);
    float *f = malloc(n * sizeof *f + 1);
    void *raw = t->dtype == NT5_DTYPE_F32 ? (void *)f : malloc(stored + 1);
    if (!f || !raw) {
        free(f);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", name);
    }
    nt5_status st = m->be->ops->read_weight(m->be, raw, t->data, stored);
    if (raw != f) { /* (f32 tensors have no exponent) */
        if (st == NT5_OK) half_to_f32_scaled(f, raw, n, t->dtype, t->weight_exp);
        free(raw);
    }
    if (st != NT5_OK) {
        free(f);
        return st;
    }
    *out = f;
    return NT5_OK;
}

/* f16_exponent() of the tensor's values, which must be finite. */
static nt5_status pick_weight_exp(const nt5_model *m, out_tensor *o) {
    float *f;
    nt5_status st = read_floats(m, o->t, o->name, &f);
    if (st != NT5_OK) return st;
    size_t n = elem_count(o->t), bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(f[i]);
    o->weight_exp = f16_exponent(f, n);
    free(f);
    return bad ? err_set(NT5_ERR_FORMAT, "tensor %s has %zu non-finite values", o->name, bad) : NT5_OK;
}

/* Every tensor in load order; models with a decoder also get an explicit
 * lm_head (a tied model's holds the embedding's values). */
static nt5_status plan_file(const nt5_model *m, const nt5file_layout *lay, file_plan *p) {
    memset(p, 0, sizeof *p);
    p->tensors = calloc(m->w.n_tensors + 1, sizeof *p->tensors);
    if (!p->tensors) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    /* a model in blocks keeps every tensor's dtype (its embedding's Q8_0 or f32 too) */
    int blocks = block_type_of(m->w.matrix_dtype) != NULL;
    int32_t dtype = blocks ? m->w.matrix_dtype : lay->dtype == NT5_DTYPE_AUTO ? m->w.shared.dtype : lay->dtype;
    p->weight_dtype = dtype_name(dtype);
    int tied_head = m->has_decoder && m->cfg.tie_word_embeddings;
    nt5_status st = NT5_OK;
    for (size_t i = 0; st == NT5_OK && i < m->w.n_tensors + (size_t)tied_head; i++) {
        int head = i == m->w.n_tensors;
        size_t src = head ? (size_t)m->w.shared.index : i;
        out_tensor *o = &p->tensors[p->count++];
        o->t = &m->w.tensors[src];
        o->name = head ? "lm_head" : o->t->name;
        o->dtype = o->t->matrix && !blocks ? dtype : o->t->dtype;
        p->blocks |= block_type_of(o->dtype) != NULL;
        p->parts |= o->t->n_parts > 0;
        o->input_absmax = -1;
        /* the embedding is gathered, not multiplied: only a tied lm_head has an input */
        if (lay->input_absmax && o->t->matrix && strcmp(o->name, "shared") != 0)
            o->input_absmax = lay->input_absmax[src];
        if (o->dtype == NT5_DTYPE_F16) st = pick_weight_exp(m, o);
    }
    return st;
}

static int add_entry(cJSON *root, const char *name, const char *dtype, const int64_t *shape, int ndim, size_t begin,
                     size_t end) {
    cJSON *e = cJSON_AddObjectToObject(root, name);
    cJSON *dims = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
    cJSON *offs = e ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
    if (!dims || !offs || !cJSON_AddStringToObject(e, "dtype", dtype)) return 0;
    int ok = 1;
    for (int i = 0; i < ndim; i++) ok &= cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)shape[i]));
    return ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)begin)) &&
           cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
}

/* blocks: {"<tensor>": "Q4_K", "<matrix in parts>": "Q4_K+Q4_K+Q6_K", ...} */
static char *blocks_json(const file_plan *p) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    for (size_t i = 0; ok && i < p->count; i++) {
        const out_tensor *o = &p->tensors[i];
        const block_type *bt = block_type_of(o->dtype);
        char types[64] = "";
        for (int32_t k = 0; k < o->t->n_parts; k++) /* "Q4_K+Q4_K+Q6_K" */
            snprintf(types + strlen(types), sizeof types - strlen(types), "%s%s", k ? "+" : "",
                     block_type_of(o->t->parts[k].dtype)->name);
        if (bt) ok = cJSON_AddStringToObject(root, o->name, o->t->n_parts ? types : bt->name) != NULL;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* f16_scales: {"<matrix>": {"weight_exp", "input_exp", "input_absmax"}} */
static char *f16_scales_json(const file_plan *p, float headroom) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    for (size_t i = 0; ok && i < p->count; i++) {
        const out_tensor *o = &p->tensors[i];
        if (o->dtype != NT5_DTYPE_F16) continue;
        cJSON *e = cJSON_AddObjectToObject(root, o->name);
        ok = e && cJSON_AddNumberToObject(e, "weight_exp", o->weight_exp);
        if (ok && o->input_absmax >= 0)
            ok = cJSON_AddNumberToObject(e, "input_exp", nt5file_pick_input_exp(o->input_absmax, headroom)) &&
                 cJSON_AddNumberToObject(e, "input_absmax", o->input_absmax);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static int add_metadata(cJSON *root, const nt5_model *m, const file_plan *p, const nt5file_layout *lay) {
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON *cfg = config_to_json(&m->cfg);
    char *cfg_text = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
    int f16 = strcmp(p->weight_dtype, "f16") == 0;
    float headroom = lay->headroom > 0 ? lay->headroom : NT5_FILE_DEFAULT_HEADROOM;
    char *scales = f16 ? f16_scales_json(p, headroom) : NULL, *blocks = p->blocks ? blocks_json(p) : NULL;
    char extra[16], maxlen[16], room[32];
    snprintf(extra, sizeof extra, "%d", m->tok ? tok_extra_ids(m->tok) : 0);
    snprintf(maxlen, sizeof maxlen, "%d", m->max_input_length);
    snprintf(room, sizeof room, "%g", headroom);
    int ok = meta && cfg_text && (!f16 || scales) && (!p->blocks || blocks) &&
             cJSON_AddStringToObject(meta, "format", "nt5") &&
             cJSON_AddStringToObject(meta, "nt5_format",
                                     p->parts    ? NT5_FILE_FORMAT_PARTS
                                     : p->blocks ? NT5_FILE_FORMAT_BLOCKS
                                                 : NT5_FILE_FORMAT_VERSION) &&
             cJSON_AddStringToObject(meta, "config", cfg_text) &&
             cJSON_AddStringToObject(meta, "weight_dtype", p->weight_dtype) &&
             cJSON_AddStringToObject(meta, "has_decoder", m->has_decoder ? "1" : "0") &&
             cJSON_AddStringToObject(meta, "norm_scales_folded", m->norms_folded ? "1" : "0") &&
             cJSON_AddStringToObject(meta, "tokenizer_extra_ids", extra) &&
             cJSON_AddStringToObject(meta, "model_max_length", maxlen) &&
             (!m->source || cJSON_AddStringToObject(meta, "source", m->source)) &&
             (!f16 || (cJSON_AddStringToObject(meta, "f16_scales", scales) &&
                       cJSON_AddStringToObject(meta, "f16_headroom", room))) &&
             (!p->blocks || cJSON_AddStringToObject(meta, "blocks", blocks));
    free(scales);
    free(blocks);
    free(cfg_text);
    cJSON_Delete(cfg);
    return ok;
}

/* The header: metadata, every planned tensor, then the tokenizer. */
static char *build_header(const nt5_model *m, const file_plan *p, const nt5file_layout *lay, size_t *header_len) {
    cJSON *root = cJSON_CreateObject();
    int ok = root && add_metadata(root, m, p, lay);
    size_t at = 0;
    for (size_t i = 0; ok && i < p->count; i++) {
        const out_tensor *o = &p->tensors[i];
        const block_type *bt = block_type_of(o->dtype);
        /* blocks: U8 [rows, bytes of a row]; a matrix in parts: U8 [bytes] */
        int64_t shape[2] = {o->t->rows, bt ? (int64_t)block_type_row_bytes(bt, (size_t)o->t->cols) : o->t->cols};
        if (o->t->n_parts) shape[0] = (int64_t)out_bytes(o);
        ok = add_entry(root, o->name, st_dtype_name(o->dtype), shape, o->t->cols && !o->t->n_parts ? 2 : 1, at,
                       at + out_bytes(o));
        at += out_bytes(o);
    }
    if (ok && m->tok) {
        size_t n;
        tok_spiece_bytes(m->tok, &n);
        int64_t shape[1] = {(int64_t)n};
        ok = add_entry(root, NT5_FILE_SPIECE_TENSOR, "U8", shape, 1, at, at + n);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return NULL;
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    char *out = realloc(text, padded + 1);
    if (!out) {
        free(text);
        return NULL;
    }
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *header_len = padded;
    return out;
}

static int write_all(FILE *f, const void *data, size_t n) { return fwrite(data, 1, n, f) == n; }

enum { WRITE_OK, WRITE_IO_ERROR, WRITE_CANCELLED, WRITE_FAILED /* *failed and its message set */ };

/* One tensor's bytes: as stored when the dtype is unchanged, else converted
 * (and for F16 divided by 2^weight_exp, which is exact). A tensor that
 * cannot be read sets *failed. */
static int write_tensor(FILE *f, const nt5_model *m, const out_tensor *o, nt5_status *failed) {
    size_t n = elem_count(o->t);
    if (o->dtype == o->t->dtype) {
        void *host = malloc(out_bytes(o) + 1);
        *failed = host ? m->be->ops->read_weight(m->be, host, o->t->data, out_bytes(o))
                       : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", o->name);
        int written = *failed != NT5_OK ? WRITE_FAILED : write_all(f, host, out_bytes(o)) ? WRITE_OK : WRITE_IO_ERROR;
        free(host);
        return written;
    }
    float *v;
    if ((*failed = read_floats(m, o->t, o->name, &v)) != NT5_OK) return WRITE_FAILED;
    /* in place: the 16-bit copy is half the size */
    half_from_f32_scaled(v, v, n, o->dtype, o->dtype == NT5_DTYPE_F16 ? o->weight_exp : 0);
    int written = write_all(f, v, out_bytes(o)) ? WRITE_OK : WRITE_IO_ERROR;
    free(v);
    return written;
}

/* The file after its temporary name was made; progress as "writing <path>". */
static int write_body(FILE *f, const nt5_model *m, const file_plan *p, const char *header, size_t header_len,
                      const nt5file_layout *lay, const char *path, nt5_status *failed) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    int ok = write_all(f, len8, 8) && write_all(f, header, header_len);
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < p->count; i++) total += out_bytes(&p->tensors[i]);
    char what[4200];
    snprintf(what, sizeof what, "writing %.4000s", path);
    for (size_t i = 0; ok && i < p->count; i++) {
        int written = write_tensor(f, m, &p->tensors[i], failed);
        if (written == WRITE_FAILED) return WRITE_FAILED;
        ok = written == WRITE_OK;
        done += out_bytes(&p->tensors[i]);
        if (ok && lay->progress && lay->progress(what, done, total, lay->user_data)) return WRITE_CANCELLED;
    }
    if (ok && m->tok) {
        size_t n;
        const void *spiece = tok_spiece_bytes(m->tok, &n);
        ok = write_all(f, spiece, n);
    }
    return ok && fflush(f) == 0 && fsync(fileno(f)) == 0 ? WRITE_OK : WRITE_IO_ERROR;
}

nt5_status nt5file_write(const nt5_model *m, const char *path, const nt5file_layout *lay) {
    const block_type *bt = block_type_of(m->w.matrix_dtype);
    if (bt && lay->dtype != NT5_DTYPE_AUTO && lay->dtype != bt->dtype)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "a model opened with %s weights is saved in them: open its source with the weight "
                       "dtype to write",
                       bt->name);
    if (m->w.shared.dtype == NT5_DTYPE_F16)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "a model opened with f16 weights is not saved again: convert its source "
                       "(nt5 convert --dtype f16)");
    if (lay->dtype != NT5_DTYPE_AUTO && lay->dtype != NT5_DTYPE_F32 && lay->dtype != NT5_DTYPE_BF16 &&
        lay->dtype != NT5_DTYPE_F16 && !bt)
        return err_set(NT5_ERR_INVALID_ARG, "weight dtype %d is not one of F32, BF16, F16", lay->dtype);
    file_plan p;
    nt5_status st = plan_file(m, lay, &p);
    size_t header_len = 0;
    char *header = st == NT5_OK ? build_header(m, &p, lay, &header_len) : NULL;
    if (st == NT5_OK && !header) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory building the nt5 file header");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.XXXXXX", path);
    int fd = st == NT5_OK ? mkstemp(tmp) : -1;
    if (fd >= 0) fchmod(fd, file_mode_for(0666));
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (st == NT5_OK && !f) {
        int e = errno;
        if (fd >= 0) close(fd), unlink(tmp);
        st = err_set(NT5_ERR_IO, "cannot create a file beside %s: %s", path, strerror(e));
    }
    if (f) {
        nt5_status failed = NT5_OK;
        int written = write_body(f, m, &p, header, header_len, lay, path, &failed);
        int e = errno;
        int ok = fclose(f) == 0 && written == WRITE_OK;
        if (!ok || rename(tmp, path) != 0) {
            if (ok) e = errno;
            unlink(tmp);
            st = written == WRITE_FAILED ? failed
                 : written == WRITE_CANCELLED
                     ? err_set(NT5_ERR_CANCELLED, "writing %s cancelled by the progress callback", path)
                     : err_set(NT5_ERR_IO, "cannot write %s: %s", path, strerror(e));
        }
    }
    free(header);
    free(p.tensors);
    return st;
}

nt5_status nt5file_save(const nt5_model *m, const char *path) {
    nt5file_layout lay = {.dtype = NT5_DTYPE_AUTO};
    return nt5file_write(m, path, &lay);
}
