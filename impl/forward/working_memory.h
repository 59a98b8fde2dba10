/* The backend memory a call works in, so that opening a model on a GPU can
 * make it ready before the first call. */
#ifndef NT5_IMPL_WORKING_MEMORY_H
#define NT5_IMPL_WORKING_MEMORY_H

#include <stddef.h>

#include "model/model.h"

/* About how many floats of backend memory one call of one input of `len`
 * tokens works in: the encoder's buffers and output, and with a decoder
 * the state and logits of `new_tokens` greedy steps. */
size_t working_floats(const t5_config *c, size_t len, size_t new_tokens, int has_decoder);
/* Asks m's backend to keep ready the memory of one call of one input at
 * full length (up to T5's usual 512 tokens) and 64 new tokens (the
 * default); best effort. */
void working_memory_reserve(const nt5_model *m);

#endif
