/* Streaming: each new token of a sequence handed to the caller's callback
 * with the text it adds. */
#ifndef NT5_IMPL_STREAM_H
#define NT5_IMPL_STREAM_H

#include "generate/search.h"

/* One sequence's stream: the text already given to the callback. */
typedef struct token_stream {
    char *emitted;
    size_t emitted_len;
} token_stream;

/* Calls g's on_token, if any, for token (at `step` of `sequence`; -1: a
 * step without one token, beam search) with the text delta of ids [n_ids];
 * NT5_ERR_CANCELLED if the callback asks to stop. */
nt5_status stream_token(const gen_call *g, token_stream *s, size_t sequence, int32_t step, int32_t token,
                        const int32_t *ids, size_t n_ids);
void stream_free(token_stream *s);

#endif
