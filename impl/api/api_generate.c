/* Public entry points: generation. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/options.h"
#include "generate/gen_options.h"
#include "generate/generate.h"

struct nt5_generation {
    size_t count;
    gen_sequence *seqs;
    char **texts;
};

/* the smallest struct a caller may pass: struct_size and the first field */
#define GENERATE_OPTIONS_MIN (offsetof(nt5_generate_options, max_new_tokens) + sizeof(int32_t))

nt5_status nt5_generate_options_init(nt5_generate_options *opts, uint32_t struct_size) {
    return opts_init(opts, struct_size, &gen_default_options, GENERATE_OPTIONS_MIN, sizeof *opts,
                     "nt5_generate_options");
}

void nt5_generation_free(nt5_generation *gen) {
    if (!gen) return;
    for (size_t i = 0; i < gen->count; i++) {
        if (gen->seqs) free(gen->seqs[i].ids);
        if (gen->texts) free(gen->texts[i]);
    }
    free(gen->seqs);
    free(gen->texts);
    free(gen);
}

static nt5_status decode_texts(const nt5_model *m, nt5_generation *gen) {
    for (size_t i = 0; i < gen->count; i++) {
        size_t len;
        if (!m->tok) {
            gen->texts[i] = strdup("");
            if (!gen->texts[i]) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
            continue;
        }
        nt5_status st = tok_decode(m->tok, gen->seqs[i].ids, gen->seqs[i].n, NT5_DETOKENIZE_SKIP_SPECIAL,
                                   m->cfg.vocab_size, &gen->texts[i], &len);
        if (st != NT5_OK) return st;
    }
    return NT5_OK;
}

static nt5_status generate(const nt5_model *m, const input_spec *spec, const nt5_generate_options *opts,
                           nt5_generation **out) {
    if (out) *out = NULL;
    if (!m || !out) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", m ? "out" : "model");
    if (!m->has_decoder)
        return err_set(NT5_ERR_UNSUPPORTED, "this model has no decoder (%s): it cannot generate", m->no_decoder);
    nt5_generate_options o = gen_default_options;
    nt5_status st = opts_overlay(&o, sizeof o, opts, GENERATE_OPTIONS_MIN, "nt5_generate_options");
    if (st == NT5_OK) st = gen_check_options(&o);
    if (st != NT5_OK) return st;
    batch_input in;
    st = inputs_prepare(m, spec, o.max_input_length, o.truncation, 0, &in);
    if (st != NT5_OK) return st;
    nt5_generation *gen = calloc(1, sizeof *gen);
    if (gen) {
        gen->count = in.batch * (size_t)o.num_return_sequences;
        gen->seqs = calloc(gen->count, sizeof *gen->seqs);
        gen->texts = calloc(gen->count, sizeof *gen->texts);
    }
    if (!gen || !gen->seqs || !gen->texts) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NT5_OK) st = generate_run(m, m->be, &o, &in, gen->seqs);
    if (st == NT5_OK) st = decode_texts(m, gen);
    inputs_free(&in);
    if (st != NT5_OK) {
        nt5_generation_free(gen);
        return st;
    }
    *out = gen;
    return NT5_OK;
}

nt5_status nt5_generate_texts(const nt5_model *model, const char *const *texts, size_t batch,
                              const nt5_generate_options *opts, nt5_generation **out) {
    if (!texts) {
        if (out) *out = NULL;
        return err_set(NT5_ERR_INVALID_ARG, "texts is NULL");
    }
    input_spec spec = {.texts = texts, .batch = batch};
    return generate(model, &spec, opts, out);
}

nt5_status nt5_generate_ids(const nt5_model *model, const int32_t *ids, const size_t *lengths, size_t batch,
                            const nt5_generate_options *opts, nt5_generation **out) {
    if (!ids || !lengths) {
        if (out) *out = NULL;
        return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", ids ? "lengths" : "ids");
    }
    input_spec spec = {.ids = ids, .lengths = lengths, .batch = batch};
    return generate(model, &spec, opts, out);
}

size_t nt5_generation_count(const nt5_generation *gen) { return gen ? gen->count : 0; }

nt5_status nt5_generation_get(const nt5_generation *gen, size_t index, const int32_t **ids, size_t *n_ids,
                              const char **text, float *score) {
    if (!gen) return err_set(NT5_ERR_INVALID_ARG, "generation is NULL");
    if (index >= gen->count)
        return err_set(NT5_ERR_INVALID_ARG, "index %zu is out of range (%zu sequences)", index, gen->count);
    if (ids) *ids = gen->seqs[index].ids;
    if (n_ids) *n_ids = gen->seqs[index].n;
    if (text) *text = gen->texts[index];
    if (score) *score = gen->seqs[index].score;
    return NT5_OK;
}
