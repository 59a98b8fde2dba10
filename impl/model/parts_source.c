#include "model/parts_source.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "quant/block_type.h"
#include "format/weight_names.h"

/* The parts of an nt5 tensor, found[i] NULL where missing; their count. */
static int find_parts(const parts_source_state *s, const char *nt5_name, const void *found[HF_PARTS_MAX],
                      char names[HF_PARTS_MAX][HF_NAME_MAX]) {
    const part_reader *r = &s->reader;
    int n = hf_parts(s->cfg->gated, nt5_name, names);
    if (strcmp(nt5_name, "shared") == 0) {
        static const char *const aliases[] = {"shared.weight", "encoder.embed_tokens.weight",
                                              "decoder.embed_tokens.weight"};
        for (int i = 0; i < 3; i++) {
            if ((found[0] = r->find(r->self, aliases[i]))) {
                snprintf(names[0], HF_NAME_MAX, "%s", aliases[i]);
                return 1;
            }
        }
    }
    for (int i = 0; i < n; i++) found[i] = r->find(r->self, names[i]);
    return n;
}

static int parts_has(void *self, const char *nt5_name) {
    const void *found[HF_PARTS_MAX];
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    int n = find_parts(self, nt5_name, found, names);
    for (int i = 0; i < n; i++)
        if (!found[i]) return 0;
    return n > 0;
}

static int32_t no_input_exp(void *self, const char *nt5_name) {
    (void)self;
    (void)nt5_name;
    return -1;
}

/* The parts of an nt5 tensor read into dst [rows, cols] stacked by rows (or
 * only checked when dst is NULL): as floats, or (dtype >= 0) as blocks of
 * that dtype, part_bytes each. */
static nt5_status read_parts(void *self, const char *nt5_name, int64_t rows, int64_t cols, int32_t dtype,
                             size_t row_bytes, void *dst) {
    const parts_source_state *s = self;
    const void *found[HF_PARTS_MAX];
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    int n = find_parts(s, nt5_name, found, names);
    if (n == 0) return err_set(NT5_ERR_INTERNAL, "no Hugging Face name for tensor \"%s\"", nt5_name);
    size_t part_rows = (size_t)rows / (size_t)n;
    for (int i = 0; i < n; i++) {
        if (!found[i]) return s->reader.missing(s->reader.self, names[i]);
        char *at = dst ? (char *)dst + (size_t)i * part_rows * row_bytes : NULL;
        nt5_status st = dtype < 0
                            ? s->reader.read(s->reader.self, found[i], names[i], (int64_t)part_rows, cols, (float *)at)
                            : s->reader.read_blocks(s->reader.self, found[i], names[i], (int64_t)part_rows, cols, dtype,
                                                    at);
        if (st != NT5_OK) return st;
    }
    return NT5_OK;
}

static size_t float_row_bytes(int64_t cols) { return (cols ? (size_t)cols : 1) * sizeof(float); }

static nt5_status parts_check(void *self, const char *nt5_name, int64_t rows, int64_t cols) {
    return read_parts(self, nt5_name, rows, cols, -1, float_row_bytes(cols), NULL);
}

static nt5_status parts_fill(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst) {
    return read_parts(self, nt5_name, rows, cols, -1, float_row_bytes(cols), dst);
}

static nt5_status parts_fill_blocks(void *self, const char *nt5_name, int64_t rows, int64_t cols, int32_t dtype,
                                    void *dst) {
    const parts_source_state *s = self;
    const block_type *bt = block_type_of(dtype);
    if (!s->reader.read_blocks || !bt) return NT5_ERR_UNSUPPORTED;
    return read_parts(self, nt5_name, rows, cols, dtype, block_type_row_bytes(bt, (size_t)cols), dst);
}

/* Each part's blocks in the first block type nt5 holds that the file stores it in (read_blocks takes it). */
static nt5_status parts_fill_part_blocks(void *self, const char *nt5_name, int64_t rows, int64_t cols, int n_parts,
                                         int32_t *part_dtypes, void *dst) {
    const parts_source_state *s = self;
    const void *found[HF_PARTS_MAX];
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    if (!s->reader.read_blocks || find_parts(s, nt5_name, found, names) != n_parts) return NT5_ERR_UNSUPPORTED;
    size_t part_rows = (size_t)rows / (size_t)n_parts;
    char *at = dst;
    for (int i = 0; i < n_parts; i++) {
        if (!found[i]) return s->reader.missing(s->reader.self, names[i]);
        nt5_status st = NT5_ERR_UNSUPPORTED;
        for (int32_t d = 0; d <= NT5_DTYPE_Q4_K && st == NT5_ERR_UNSUPPORTED; d++) {
            const block_type *bt = block_type_of(d);
            if (!bt || (size_t)cols % bt->values) continue;
            st = s->reader.read_blocks(s->reader.self, found[i], names[i], (int64_t)part_rows, cols, d, at);
            part_dtypes[i] = d;
            if (st == NT5_OK) at += block_type_row_bytes(bt, part_rows * (size_t)cols);
        }
        if (st != NT5_OK) return st;
    }
    return NT5_OK;
}

static int32_t parts_stored_dtype(void *self) {
    const parts_source_state *s = self;
    return s->reader.stored_dtype(s->reader.self);
}

static void parts_describe(void *self, char *out, size_t cap) {
    const parts_source_state *s = self;
    s->reader.describe(s->reader.self, out, cap);
}

weight_source parts_source(parts_source_state *state) {
    return (weight_source){.self = state,
                           .has = parts_has,
                           .stored_dtype = parts_stored_dtype,
                           .check = parts_check,
                           .input_exp = no_input_exp,
                           .fill = parts_fill,
                           .fill_blocks = parts_fill_blocks,
                           .fill_part_blocks = parts_fill_part_blocks,
                           .describe = parts_describe};
}
