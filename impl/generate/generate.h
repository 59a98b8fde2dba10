/* Encoder-decoder generation: greedy, sampling and beam search over the
 * decoder with its cache. */
#ifndef NT5_IMPL_GENERATE_H
#define NT5_IMPL_GENERATE_H

#include "forward/forward.h"
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
    const float *enc_out;  /* backend buffer [batch * len, d_model] */
    gen_sequence *out;     /* [batch * num_return_sequences] */
} gen_call;

/* Validated options -> sequences (the caller frees out[i].ids). */
nt5_status generate_run(const nt5_model *m, const nt5_generate_options *o, const batch_input *in, gen_sequence *out);

nt5_status search_greedy(gen_call *g);
nt5_status search_beam(gen_call *g);

/* Streams text deltas of one sequence to the caller's callback. */
typedef struct token_stream {
    char *emitted; /* text already given to the callback */
    size_t emitted_len;
} token_stream;
/* Returns NT5_ERR_CANCELLED if the callback asks to stop. */
nt5_status stream_token(const gen_call *g, token_stream *s, size_t sequence, int32_t step, int32_t token,
                        const int32_t *ids, size_t n_ids);
void stream_free(token_stream *s);

#endif
