/* Logits processors, in Hugging Face's definitions: what changes a
 * decoder row's scores before a token is chosen (backend/picks.h). */
#ifndef NT5_IMPL_LOGITS_PROCESS_H
#define NT5_IMPL_LOGITS_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

/* Applies the processors enabled in `o` (repetition penalty, no-repeat
 * n-grams, min_new_tokens) to one row of scores [vocab]. `history` is the
 * decoder input so far, starting with the decoder start token. */
void lp_process(const nt5_generate_options *o, float *scores, size_t vocab, const int32_t *history, size_t n_history,
                int32_t eos_id);
/* Whether o enables none of them at step `step` (0 for the first new
 * token): the backend may then choose the tokens itself. */
int lp_none(const nt5_generate_options *o, int64_t step);
/* Whether min_new_tokens' ban of EOS is all o does at `step`: the backend
 * may then choose the tokens itself once EOS's score is set to -inf (as
 * for greedy search and sampling, which take the softmax after the
 * processors; beam search takes it before). */
int lp_bans_eos_only(const nt5_generate_options *o, int64_t step);

#endif
