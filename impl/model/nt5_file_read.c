/* Reading an nt5 file (format/nt5_format.h): its config, tokenizer and
 * metadata, and its tensors as a weight source. */
#include "model/nt5_file_read.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_file.h"
#include "format/dtype_tally.h"
#include "format/nt5_format.h"
#include "format/tensor_values.h"

nt5_status nt5file_read_header(const st_file *f, nt5file_header *h) {
    memset(h, 0, sizeof *h);
    nt5_status st = nt5file_check(f);
    if (st != NT5_OK) return st;
    const char *cfg_text = st_metadata(f, "config");
    if (!cfg_text) return err_set(NT5_ERR_FORMAT, "%s: metadata has no config", f->path);
    cJSON *cfg = NULL;
    st = json_parse_object(cfg_text, strlen(cfg_text), f->path, &cfg);
    if (st == NT5_OK) st = config_from_json(cfg, f->path, &h->cfg);
    cJSON_Delete(cfg);
    int extra_ids = 0, max_length = 512;
    if (st == NT5_OK) st = nt5file_int(f, "model_max_length", &max_length);
    if (st == NT5_OK) st = nt5file_int(f, "tokenizer_extra_ids", &extra_ids);
    h->max_input_length = max_length > 0 ? max_length : 512;
    const char *folded = st_metadata(f, "norm_scales_folded");
    h->norms_folded = folded && strcmp(folded, "1") == 0;
    const char *source = st_metadata(f, "source");
    if (st == NT5_OK && source && !(h->source = strdup(source))) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    const st_tensor *spiece = st_find(f, NT5_FILE_SPIECE_TENSOR);
    if (st == NT5_OK && spiece)
        st = tok_open_bytes(spiece->data, spiece->nbytes, extra_ids, h->max_input_length, f->path, &h->tok);
    return st;
}

nt5_status nt5file_source_open(nt5file_source_state *s) {
    nt5_status st = nt5file_scales(s->file, &s->scales);
    return st == NT5_OK ? nt5file_blocks(s->file, &s->blocks) : st;
}

void nt5file_source_close(nt5file_source_state *s) {
    cJSON_Delete(s->scales);
    cJSON_Delete(s->blocks);
    s->scales = s->blocks = NULL;
}

static int nt5file_has(void *self, const char *nt5_name) {
    const nt5file_source_state *s = self;
    return st_find(s->file, nt5_name) != NULL;
}

/* blocks: the first encoder block's qkv tells; else the embedding's dtype */
static int32_t nt5file_stored_dtype(void *self) {
    const nt5file_source_state *s = self;
    const block_type *types[HF_PARTS_MAX];
    return nt5file_part_types(s->blocks, "enc.0.qkv", types) ? types[0]->dtype
                                                             : tensor_dtype(st_find(s->file, "shared"));
}

static int32_t nt5file_tensor_input_exp(void *self, const char *nt5_name) {
    const nt5file_source_state *s = self;
    return nt5file_input_exp(s->scales, nt5_name);
}

/* A tensor of blocks of type bt holding [rows, cols]: U8 [rows, bytes of a row]. */
static nt5_status check_blocks(const st_tensor *t, const block_type *bt, int64_t rows, int64_t cols) {
    int64_t row_bytes = cols > 0 && (size_t)cols % bt->values == 0 ? (int64_t)block_type_row_bytes(bt, (size_t)cols)
                                                                   : -1;
    if (t->dtype == ST_U8 && t->ndim == 2 && t->shape[0] == rows && t->shape[1] == row_bytes) return NT5_OK;
    return err_set(NT5_ERR_FORMAT,
                   "tensor \"%s\" of %s blocks is %s of %d dimensions; [%lld, %lld] needs U8 [%lld, %lld]", t->name,
                   bt->name, t->dtype_name, t->ndim, (long long)rows, (long long)cols, (long long)rows,
                   (long long)row_bytes);
}

/* Bytes of the n equal row parts of [rows, cols] in block types types[n], or 0 when the rows do not split into them. */
static size_t parts_bytes(const block_type *const *types, int n, int64_t rows, int64_t cols) {
    size_t total = 0, values = (size_t)rows / (size_t)n * (size_t)cols;
    for (int i = 0; i < n; i++) {
        if (cols <= 0 || rows % n || (size_t)cols % types[i]->values) return 0;
        total += block_type_row_bytes(types[i], values);
    }
    return total;
}

/* A matrix [rows, cols] in n parts of types[n]: a U8 vector of their blocks. */
static nt5_status check_parts(const st_tensor *t, const block_type *const *types, int n, int64_t rows, int64_t cols) {
    size_t bytes = parts_bytes(types, n, rows, cols);
    if (bytes && t->dtype == ST_U8 && t->ndim == 1 && t->shape[0] == (int64_t)bytes) return NT5_OK;
    return err_set(NT5_ERR_FORMAT,
                   "tensor \"%s\" in %d parts of blocks is %s of %d dimensions; [%lld, %lld] needs U8 [%zu]", t->name,
                   n, t->dtype_name, t->ndim, (long long)rows, (long long)cols, bytes);
}

static nt5_status nt5file_check_tensor(void *self, const char *nt5_name, int64_t rows, int64_t cols) {
    const nt5file_source_state *s = self;
    const st_tensor *t = st_find(s->file, nt5_name);
    if (!t) return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" is missing from the nt5 file", nt5_name);
    const block_type *types[HF_PARTS_MAX];
    int n = nt5file_part_types(s->blocks, nt5_name, types);
    return n > 1 ? check_parts(t, types, n, rows, cols)
           : n   ? check_blocks(t, types[0], rows, cols)
                 : tensor_check(t, nt5_name, rows, cols);
}

static nt5_status nt5file_fill(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst) {
    const nt5file_source_state *s = self;
    nt5_status st = nt5file_check_tensor(self, nt5_name, rows, cols);
    if (st != NT5_OK) return st;
    const st_tensor *t = st_find(s->file, nt5_name);
    const block_type *types[HF_PARTS_MAX];
    int n = nt5file_part_types(s->blocks, nt5_name, types);
    if (n) { /* each part's blocks dequantized */
        size_t values = (size_t)rows / (size_t)n * (size_t)cols;
        const unsigned char *at = t->data;
        for (int i = 0; i < n; i++) {
            types[i]->dequantize(at, values, dst + (size_t)i * values);
            at += block_type_row_bytes(types[i], values);
        }
        return NT5_OK;
    }
    /* stored = value * 2^-weight_exp for F16 matrices with an entry */
    int exp = t->dtype == ST_F16 ? nt5file_weight_exp(s->scales, nt5_name) : 0;
    return tensor_read(t, nt5_name, rows, cols, exp, dst);
}

/* blocks stored in the asked type, as they are */
static nt5_status nt5file_fill_blocks(void *self, const char *nt5_name, int64_t rows, int64_t cols, int32_t dtype,
                                      void *dst) {
    const nt5file_source_state *s = self;
    const block_type *bt = nt5file_block_type(s->blocks, nt5_name);
    if (!bt || bt->dtype != dtype) return NT5_ERR_UNSUPPORTED;
    nt5_status st = nt5file_check_tensor(self, nt5_name, rows, cols);
    if (st == NT5_OK)
        memcpy(dst, st_find(s->file, nt5_name)->data, block_type_row_bytes(bt, (size_t)rows * (size_t)cols));
    return st;
}

/* a matrix stored in n_parts parts, as it is */
static nt5_status nt5file_fill_part_blocks(void *self, const char *nt5_name, int64_t rows, int64_t cols, int n_parts,
                                           int32_t *part_dtypes, void *dst) {
    const nt5file_source_state *s = self;
    const block_type *types[HF_PARTS_MAX];
    if (nt5file_part_types(s->blocks, nt5_name, types) != n_parts || n_parts < 2) return NT5_ERR_UNSUPPORTED;
    nt5_status st = nt5file_check_tensor(self, nt5_name, rows, cols);
    if (st != NT5_OK) return st;
    for (int i = 0; i < n_parts; i++) part_dtypes[i] = types[i]->dtype;
    memcpy(dst, st_find(s->file, nt5_name)->data, parts_bytes(types, n_parts, rows, cols));
    return NT5_OK;
}

static void nt5file_describe(void *self, char *out, size_t cap) {
    const nt5file_source_state *s = self;
    dtype_tally tally = {0};
    for (size_t i = 0; i < s->file->count; i++)
        if (strcmp(s->file->tensors[i].name, NT5_FILE_SPIECE_TENSOR) != 0) {
            const block_type *types[HF_PARTS_MAX];
            int n = nt5file_part_types(s->blocks, s->file->tensors[i].name, types);
            for (int p = 0; p < n; p++) dtype_tally_add(&tally, types[p]->name);
            if (!n) dtype_tally_add(&tally, s->file->tensors[i].dtype_name);
        }
    dtype_tally_text(&tally, out, cap);
}

weight_source nt5file_source(nt5file_source_state *state) {
    return (weight_source){.self = state,
                           .has = nt5file_has,
                           .stored_dtype = nt5file_stored_dtype,
                           .check = nt5file_check_tensor,
                           .input_exp = nt5file_tensor_input_exp,
                           .fill = nt5file_fill,
                           .fill_blocks = nt5file_fill_blocks,
                           .fill_part_blocks = nt5file_fill_part_blocks,
                           .describe = nt5file_describe};
}
