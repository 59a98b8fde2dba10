#include "nt5_file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "json_file.h"

#define SPIECE_TENSOR "tokenizer.spiece"

static const char *dtype_name(int32_t dtype) { return dtype == NT5_DTYPE_BF16 ? "BF16" : "F32"; }

static size_t tensor_bytes(const weight_tensor *t) {
    return (size_t)t->rows * (size_t)(t->cols ? t->cols : 1) * (t->dtype == NT5_DTYPE_BF16 ? 2 : 4);
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

static int add_metadata(cJSON *root, const nt5_model *m) {
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON *cfg = config_to_json(&m->cfg);
    char *cfg_text = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
    char extra[16], maxlen[16];
    snprintf(extra, sizeof extra, "%d", m->tok ? tok_extra_ids(m->tok) : 0);
    snprintf(maxlen, sizeof maxlen, "%d", m->max_input_length);
    int ok = meta && cfg_text && cJSON_AddStringToObject(meta, "format", "nt5") &&
             cJSON_AddStringToObject(meta, "nt5_format", NT5_FILE_FORMAT_VERSION) &&
             cJSON_AddStringToObject(meta, "config", cfg_text) &&
             cJSON_AddStringToObject(meta, "weight_dtype", m->w.shared.dtype == NT5_DTYPE_BF16 ? "bf16" : "f32") &&
             cJSON_AddStringToObject(meta, "has_decoder", m->has_decoder ? "1" : "0") &&
             cJSON_AddStringToObject(meta, "tokenizer_extra_ids", extra) &&
             cJSON_AddStringToObject(meta, "model_max_length", maxlen) &&
             (!m->source || cJSON_AddStringToObject(meta, "source", m->source));
    free(cfg_text);
    cJSON_Delete(cfg);
    return ok;
}

/* The header: metadata, every tensor in load order, then the tokenizer. */
static char *build_header(const nt5_model *m, size_t *header_len) {
    cJSON *root = cJSON_CreateObject();
    int ok = root && add_metadata(root, m);
    size_t at = 0;
    for (size_t i = 0; ok && i < m->w.n_tensors; i++) {
        const weight_tensor *t = &m->w.tensors[i];
        int64_t shape[2] = {t->rows, t->cols};
        ok = add_entry(root, t->name, dtype_name(t->dtype), shape, t->cols ? 2 : 1, at, at + tensor_bytes(t));
        at += tensor_bytes(t);
    }
    if (ok && m->tok) {
        size_t n;
        tok_spiece_bytes(m->tok, &n);
        int64_t shape[1] = {(int64_t)n};
        ok = add_entry(root, SPIECE_TENSOR, "U8", shape, 1, at, at + n);
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

static int write_body(FILE *f, const nt5_model *m, const char *header, size_t header_len) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    int ok = write_all(f, len8, 8) && write_all(f, header, header_len);
    for (size_t i = 0; ok && i < m->w.n_tensors; i++) {
        const weight_tensor *t = &m->w.tensors[i];
        size_t bytes = tensor_bytes(t);
        void *host = malloc(bytes ? bytes : 1);
        if (!host) return 0;
        m->be->ops->read_weight(m->be, host, t->data, bytes);
        ok = write_all(f, host, bytes);
        free(host);
    }
    if (ok && m->tok) {
        size_t n;
        const void *spiece = tok_spiece_bytes(m->tok, &n);
        ok = write_all(f, spiece, n);
    }
    return ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
}

nt5_status nt5file_save(const nt5_model *m, const char *path) {
    size_t header_len = 0;
    char *header = build_header(m, &header_len);
    if (!header) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory building the nt5 file header");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd), unlink(tmp);
        free(header);
        return err_set(NT5_ERR_IO, "cannot create a file beside %s: %s", path, strerror(e));
    }
    int ok = write_body(f, m, header, header_len);
    int e = errno;
    ok = fclose(f) == 0 && ok;
    free(header);
    if (!ok || rename(tmp, path) != 0) {
        if (ok) e = errno;
        unlink(tmp);
        return err_set(NT5_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return NT5_OK;
}

static nt5_status metadata_int(const st_file *f, const char *key, int *out) {
    const char *v = st_metadata(f, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < 0 || x > 1000000) return err_set(NT5_ERR_FORMAT, "%s: metadata \"%s\" is missing or invalid", f->path, key);
    *out = (int)x;
    return NT5_OK;
}

nt5_status nt5file_read_header(const st_file *f, nt5_model *m) {
    const char *format = st_metadata(f, "format"), *version = st_metadata(f, "nt5_format");
    if (!format || strcmp(format, "nt5") != 0)
        return err_set(NT5_ERR_FORMAT, "%s is a safetensors file but not an nt5 model file (open its directory, "
                       "with config.json, instead)", f->path);
    if (!version || strcmp(version, NT5_FILE_FORMAT_VERSION) != 0)
        return err_set(NT5_ERR_UNSUPPORTED, "%s has nt5 file format %s; this library reads format %s", f->path,
                       version ? version : "(none)", NT5_FILE_FORMAT_VERSION);
    const char *cfg_text = st_metadata(f, "config");
    if (!cfg_text) return err_set(NT5_ERR_FORMAT, "%s: metadata has no config", f->path);
    cJSON *cfg = NULL;
    nt5_status st = json_parse_object(cfg_text, strlen(cfg_text), f->path, &cfg);
    if (st == NT5_OK) st = config_from_json(cfg, f->path, &m->cfg);
    cJSON_Delete(cfg);
    int extra_ids = 0, max_length = 512;
    if (st == NT5_OK) st = metadata_int(f, "model_max_length", &max_length);
    if (st == NT5_OK) st = metadata_int(f, "tokenizer_extra_ids", &extra_ids);
    m->max_input_length = max_length > 0 ? max_length : 512;
    const char *source = st_metadata(f, "source");
    if (st == NT5_OK && source && !(m->source = strdup(source))) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    const st_tensor *spiece = st_find(f, SPIECE_TENSOR);
    if (st == NT5_OK && spiece) st = tok_open_bytes(spiece->data, spiece->nbytes, extra_ids, m->max_input_length, f->path, &m->tok);
    return st;
}
