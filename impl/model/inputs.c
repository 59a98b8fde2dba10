#include "model/inputs.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void inputs_free(batch_input *b) {
    free(b->ids);
    free(b->lengths);
    memset(b, 0, sizeof *b);
}

/* Row i's ids: tokenized text (malloc'ed into *owned) or a slice of in->ids. */
static nt5_status row_ids(const nt5_model *m, const input_spec *in, size_t i, size_t offset, const int32_t **ids,
                          size_t *n, int32_t **owned) {
    *owned = NULL;
    if (in->texts) {
        if (!in->texts[i]) return err_set(NT5_ERR_INVALID_ARG, "texts[%zu] is NULL", i);
        nt5_status st = tok_encode(m->tok, in->texts[i], 1, owned, n);
        if (st != NT5_OK) return err_wrap(st, "texts[%zu]", i);
        *ids = *owned;
        return NT5_OK;
    }
    *n = in->lengths[i];
    *ids = in->ids + offset;
    if (*n == 0) return err_set(NT5_ERR_INVALID_ARG, "input %zu has no tokens (lengths[%zu] is 0)", i, i);
    for (size_t k = 0; k < *n; k++)
        if ((*ids)[k] < 0 || (*ids)[k] >= m->cfg.vocab_size)
            return err_set(NT5_ERR_INVALID_ARG, "input %zu: token id %d at position %zu is outside [0, %d)", i,
                           (*ids)[k], k, m->cfg.vocab_size);
    return NT5_OK;
}

nt5_status inputs_prepare(const nt5_model *m, const input_spec *in, int32_t max_length, int truncation, int pad_to_max,
                          batch_input *out) {
    memset(out, 0, sizeof *out);
    if (in->batch == 0) return err_set(NT5_ERR_INVALID_ARG, "batch is 0: give at least one input");
    if (in->texts == NULL && (in->ids == NULL || in->lengths == NULL))
        return err_set(NT5_ERR_INVALID_ARG, "inputs are NULL");
    if (in->texts && !m->tok)
        return err_set(
            NT5_ERR_NOT_FOUND,
            "this model has no tokenizer: give one (the tokenizer option, nt5 --tokenizer) or pass token ids");
    if (max_length < 0) return err_set(NT5_ERR_INVALID_ARG, "max_length %d is negative", max_length);
    size_t limit = max_length ? (size_t)max_length : (size_t)m->max_input_length;
    size_t B = in->batch;
    int32_t **rows = calloc(B, sizeof *rows);
    out->lengths = calloc(B, sizeof *out->lengths);
    out->batch = B;
    nt5_status st = rows && out->lengths ? NT5_OK : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    size_t offset = 0, longest = 0;
    for (size_t i = 0; i < B && st == NT5_OK; i++) {
        const int32_t *ids = NULL;
        size_t n = 0;
        int32_t *owned = NULL;
        st = row_ids(m, in, i, offset, &ids, &n, &owned);
        if (st != NT5_OK) break;
        offset += n;
        if (n > limit && !truncation) {
            st = err_set(NT5_ERR_TOO_LONG,
                         "input %zu has %zu tokens, more than max_length %zu (turn truncation on "
                         "or raise max_length)",
                         i, n, limit);
            free(owned);
            break;
        }
        size_t keep = n > limit ? limit : n;
        rows[i] = malloc(keep * sizeof **rows);
        if (!rows[i]) {
            free(owned);
            st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        memcpy(rows[i], ids, keep * sizeof **rows);
        /* a truncated text keeps its </s>, as the Hugging Face tokenizer does */
        if (keep < n && in->texts) rows[i][keep - 1] = m->cfg.eos_id;
        free(owned);
        out->lengths[i] = keep;
        if (keep > longest) longest = keep;
    }
    if (st == NT5_OK) {
        out->len = pad_to_max ? limit : longest;
        out->ids = malloc(B * out->len * sizeof *out->ids);
        if (!out->ids) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < B && st == NT5_OK; i++) {
        int32_t *dst = out->ids + i * out->len;
        memcpy(dst, rows[i], out->lengths[i] * sizeof *dst);
        for (size_t k = out->lengths[i]; k < out->len; k++) dst[k] = m->cfg.pad_id;
    }
    for (size_t i = 0; rows && i < B; i++) free(rows[i]);
    free(rows);
    if (st != NT5_OK) inputs_free(out);
    return st;
}
