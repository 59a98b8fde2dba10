#include "model/gguf_source.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "format/dtype_tally.h"
#include "format/gguf_names.h"
#include "format/gguf_quants.h"
#include "quant/block_type.h"

/* The GGUF tensor of Hugging Face tensor `hf`, or NULL. */
static const void *gguf_find_part(void *self, const char *hf) {
    const gguf_source_state *s = self;
    char name[GGUF_NAME_MAX];
    return gguf_name_of(hf, name) ? gguf_find_tensor(s->file, name) : NULL;
}

static nt5_status gguf_missing(void *self, const char *hf) {
    (void)self;
    char name[GGUF_NAME_MAX] = "";
    gguf_name_of(hf, name);
    return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" (%s) is missing from the GGUF file", name, hf);
}

/* A part's shape against [rows, cols] (ggml order: ne[0] is cols), then its values dequantized. */
static nt5_status gguf_read_part(void *self, const void *part, const char *hf, int64_t rows, int64_t cols, float *dst) {
    (void)self;
    const gguf_tensor *t = part;
    int ok = cols ? t->n_dims == 2 && t->ne[0] == (uint64_t)cols && t->ne[1] == (uint64_t)rows
                  : t->n_dims == 1 && t->ne[0] == (uint64_t)rows;
    if (!ok)
        return err_set(NT5_ERR_FORMAT,
                       "tensor \"%s\" (%s) has ggml shape [%llu, %llu] but the config needs [%lld, %lld] "
                       "(columns first)",
                       t->name, hf, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                       (long long)(cols ? cols : rows), (long long)(cols ? rows : 1));
    nt5_status st = dst ? gguf_dequantize(t->type, t->data, (size_t)t->n_elements, dst) : NT5_OK;
    return st == NT5_OK ? st : err_wrap(st, "tensor \"%s\"", t->name);
}

/* A part's blocks as the file stores them, when they are of block dtype
 * `dtype`: used without requantizing. */
static nt5_status gguf_read_blocks(void *self, const void *part, const char *hf, int64_t rows, int64_t cols,
                                   int32_t dtype, void *dst) {
    const gguf_tensor *t = part;
    const block_type *bt = block_type_of(dtype);
    if (!bt || t->type != bt->ggml_type) return NT5_ERR_UNSUPPORTED;
    nt5_status st = gguf_read_part(self, part, hf, rows, cols, NULL);
    if (st == NT5_OK) memcpy(dst, t->data, block_type_row_bytes(bt, (size_t)t->n_elements));
    return st;
}

/* Under NT5_DTYPE_AUTO: bf16 embeddings stay bf16, matrices in a block
 * type nt5 holds (the first encoder block's query tells) that type;
 * dequantized types are not exact in 16 bits */
static int32_t gguf_stored_dtype(void *self) {
    const gguf_source_state *s = self;
    const gguf_tensor *q = gguf_find_part(self, "encoder.block.0.layer.0.SelfAttention.q.weight");
    const block_type *bt = q ? block_type_of_ggml(q->type) : NULL;
    if (bt) return bt->dtype;
    const gguf_tensor *t = gguf_find_tensor(s->file, "token_embd.weight");
    return t && t->type == GGML_TYPE_BF16 ? NT5_DTYPE_BF16 : NT5_DTYPE_F32;
}

static void gguf_describe(void *self, char *out, size_t cap) {
    const gguf_source_state *s = self;
    dtype_tally tally = {0};
    for (size_t i = 0; i < gguf_tensor_count(s->file); i++) {
        const gguf_type_info *type = gguf_type_lookup(gguf_tensor_at(s->file, i)->type);
        dtype_tally_add(&tally, type ? type->name : "?");
    }
    dtype_tally_text(&tally, out, cap);
}

weight_source gguf_source(gguf_source_state *state) {
    state->parts = (parts_source_state){.reader = {state, gguf_find_part, gguf_missing, gguf_read_part,
                                                   gguf_read_blocks, gguf_stored_dtype, gguf_describe},
                                        .cfg = state->cfg};
    return parts_source(&state->parts);
}
