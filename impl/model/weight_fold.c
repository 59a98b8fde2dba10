#include "model/weight_fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* matrix field -> the norm that feeds it, per stack */
static const struct {
    const char *stack, *matrix, *norm;
} folds[] = {
    {"enc", "qkv", "ln_attn"},      {"enc", "wi", "ln_ff"}, {"dec", "qkv", "ln_self"},
    {"dec", "cross_q", "ln_cross"}, {"dec", "wi", "ln_ff"},
};

/* The norm folded into `matrix` ("" if none) and whether `name` is a folded norm. */
static void fold_pair(const t5_config *c, const char *name, char norm_of[48], int *is_folded_norm) {
    norm_of[0] = '\0';
    *is_folded_norm = 0;
    if (!c->tie_word_embeddings) {
        if (strcmp(name, "lm_head") == 0) snprintf(norm_of, 48, "dec.final_ln");
        if (strcmp(name, "dec.final_ln") == 0) *is_folded_norm = 1;
    }
    char stack[4], field[32];
    int block, end = 0;
    if (sscanf(name, "%3[a-z].%d.%31[a-z_]%n", stack, &block, field, &end) != 3 || name[end]) return;
    for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++) {
        if (strcmp(stack, folds[i].stack) != 0) continue;
        if (strcmp(field, folds[i].matrix) == 0) snprintf(norm_of, 48, "%s.%d.%s", stack, block, folds[i].norm);
        if (strcmp(field, folds[i].norm) == 0) *is_folded_norm = 1;
    }
}

static int fold_has(void *self, const char *name) {
    const fold_state *s = self;
    return s->inner->has(s->inner->self, name);
}

static int32_t fold_stored_dtype(void *self) {
    const fold_state *s = self;
    return s->inner->stored_dtype(s->inner->self);
}

static nt5_status fold_check(void *self, const char *name, int64_t rows, int64_t cols) {
    const fold_state *s = self;
    return s->inner->check(s->inner->self, name, rows, cols);
}

static int32_t fold_input_exp(void *self, const char *name) {
    const fold_state *s = self;
    return s->inner->input_exp(s->inner->self, name);
}

static nt5_status fold_fill(void *self, const char *name, int64_t rows, int64_t cols, float *dst) {
    const fold_state *s = self;
    nt5_status st = s->inner->fill(s->inner->self, name, rows, cols, dst);
    char norm[48];
    int is_folded_norm;
    fold_pair(s->cfg, name, norm, &is_folded_norm);
    if (st != NT5_OK) return st;
    if (is_folded_norm) {
        for (int64_t i = 0; i < rows; i++) dst[i] = 1.0f;
        return NT5_OK;
    }
    if (!norm[0] || !cols) return NT5_OK;
    float *g = malloc((size_t)cols * sizeof *g); /* [cols]: the norm over the input */
    if (!g) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory folding %s", norm);
    st = s->inner->fill(s->inner->self, norm, cols, 0, g);
    for (int64_t r = 0; st == NT5_OK && r < rows; r++)
        for (int64_t k = 0; k < cols; k++) dst[r * cols + k] *= g[k];
    free(g);
    return st;
}

static void fold_describe(void *self, char *out, size_t cap) {
    const fold_state *s = self;
    s->inner->describe(s->inner->self, out, cap);
}

weight_source folding_source(fold_state *state) {
    return (weight_source){.self = state,
                           .has = fold_has,
                           .stored_dtype = fold_stored_dtype,
                           .check = fold_check,
                           .input_exp = fold_input_exp,
                           .fill = fold_fill,
                           .describe = fold_describe};
}
