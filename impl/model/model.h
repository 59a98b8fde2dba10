/* struct nt5_model: config, backend, weights and tokenizer. */
#ifndef NT5_IMPL_MODEL_H
#define NT5_IMPL_MODEL_H

#include "backend/backend.h"
#include "model/config.h"
#include "nt5.h"
#include "tokenizer/tokenizer.h"
#include "model/weights.h"

struct nt5_model {
    t5_config cfg;
    backend *be;
    weights w;
    int has_decoder;
    const char *no_decoder; /* why has_decoder is 0 ("it was opened encoder-only", ...), static text */
    tokenizer *tok;         /* NULL when the model has no tokenizer */
    int max_input_length;   /* default max length of inputs */
    char *source;           /* "org/name@commit" when it came from the Hub (or an nt5 file made so); else NULL */
    int norms_folded;       /* RMSNorm scales were multiplied into the matrices (weight_fold.h) */
    /* what was opened, for people (nt5_model_info): the format, how the
     * weights were stored there, where the tokenizer came from ("" when none) */
    char format[256], stored[256], tokenizer_from[4200];
};

/* Changes made to the weights while they load (conversion options). */
typedef struct load_transforms {
    int fold_norms; /* weight_fold.h */
} load_transforms;

/* Opens a Hugging Face layout directory or an nt5 file; tf may be NULL. */
nt5_status model_open_path(const char *path, const nt5_model_options *opts, const load_transforms *tf, nt5_model **out);
/* Builds a model with random weights from config.json text. */
nt5_status model_open_random(const char *config_json, uint64_t seed, const nt5_model_options *opts, nt5_model **out);
void model_free(nt5_model *m);
/* Whether opts' device would give a GPU backend (*gpu), or the error it gives. */
nt5_status model_backend_probe(const nt5_model_options *opts, int *gpu);

#endif
