/* Public entry points: tokenize and detokenize. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/text_out.h"
#include "model/model.h"

static nt5_status need_tokenizer(const nt5_model *model) {
    if (!model) return err_set(NT5_ERR_INVALID_ARG, "model is NULL");
    if (!model->tok)
        return err_set(NT5_ERR_NOT_FOUND,
                       "this model has no tokenizer: give one (the tokenizer option, nt5 --tokenizer)");
    return NT5_OK;
}

nt5_status nt5_tokenize(const nt5_model *model, const char *text, int32_t flags, int32_t *ids, size_t capacity,
                        size_t *n_ids) {
    nt5_status st = need_tokenizer(model);
    if (st != NT5_OK) return st;
    if (!text || !n_ids) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", text ? "n_ids" : "text");
    if (!ids && capacity) return err_set(NT5_ERR_INVALID_ARG, "ids is NULL but capacity is %zu", capacity);
    if (flags & ~NT5_TOKENIZE_NO_EOS)
        return err_set(NT5_ERR_INVALID_ARG, "unknown tokenize flags 0x%x", (unsigned)flags);
    int32_t *tmp;
    size_t n;
    st = tok_encode(model->tok, text, !(flags & NT5_TOKENIZE_NO_EOS), &tmp, &n);
    if (st != NT5_OK) return st;
    *n_ids = n;
    if (n > capacity) st = err_set(NT5_ERR_BUFFER_TOO_SMALL, "%zu ids do not fit in a buffer of %zu", n, capacity);
    else if (n) memcpy(ids, tmp, n * sizeof *ids);
    free(tmp);
    return st;
}

nt5_status nt5_detokenize(const nt5_model *model, const int32_t *ids, size_t n_ids, int32_t flags, char *text,
                          size_t capacity, size_t *text_len) {
    nt5_status st = need_tokenizer(model);
    if (st != NT5_OK) return st;
    if ((!ids && n_ids) || !text_len) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", text_len ? "ids" : "text_len");
    if (!text && capacity) return err_set(NT5_ERR_INVALID_ARG, "text is NULL but capacity is %zu", capacity);
    if (flags & ~(NT5_DETOKENIZE_SKIP_SPECIAL | NT5_DETOKENIZE_NO_CLEANUP))
        return err_set(NT5_ERR_INVALID_ARG, "unknown detokenize flags 0x%x", (unsigned)flags);
    char *tmp;
    size_t len;
    st = tok_decode(model->tok, ids, n_ids, flags, model->cfg.vocab_size, &tmp, &len);
    if (st != NT5_OK) return st;
    st = text_out(tmp, text, capacity, text_len);
    free(tmp);
    return st;
}
