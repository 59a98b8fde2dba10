/* Choosing tokens from a row of scores, as Hugging Face computes it: the
 * arithmetic both the backends' picks (backend.h greedy_pick, sample_pick,
 * beam_candidates) and the searches (generate/) use, so a GPU's picks can
 * match the CPU's bit for bit. */
#ifndef NT5_IMPL_PICKS_H
#define NT5_IMPL_PICKS_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

/* Temperature, top-k and top-p of o for sampling (filtered entries -> -inf). */
void pick_warp(const nt5_generate_options *o, float *scores, size_t vocab);
/* In place log_softmax; -inf stays -inf. */
void pick_log_softmax(float *scores, size_t vocab);
/* log(sum(exp(scores))) as pick_log_softmax computes it: exps to a few ulp (fast_expf), an fp64 sum */
float pick_logsumexp(const float *scores, size_t vocab);
size_t pick_argmax(const float *scores, size_t vocab);
/* Draws from softmax(scores) with u uniform in [0, 1): the first token
 * whose running sum of exp(score - max) (fp64, in token order) passes
 * u * total, or the last possible one. */
size_t pick_sample(const float *scores, size_t vocab, double u);
/* Keeps top[0:*have] the `want` best candidates fed so far, best first; of
 * equal scores the one fed first stays ahead (as a stable sort would). */
void pick_keep_best(beam_candidate *top, size_t *have, size_t want, beam_candidate c);

#endif
