/* What a search (search_greedy.h, search_beam.h) works on and gives back. */
#ifndef NT5_IMPL_SEARCH_H
#define NT5_IMPL_SEARCH_H

#include "backend/backend.h"
#include "model/inputs.h"
#include "model/model.h"

typedef struct gen_sequence {
    int32_t *ids; /* new tokens, </s> included when produced */
    size_t n;
    float score;
} gen_sequence;

/* Everything a search needs for one call. */
typedef struct gen_call {
    const nt5_model *m;
    const nt5_generate_options *o;
    const batch_input *in;
    exec_ctx *x;
    const float *enc_out; /* backend buffer [batch * len, d_model] */
    gen_sequence *out;    /* [batch * num_return_sequences] */
} gen_call;

#endif
