/* Logits processors and warpers, in Hugging Face's definitions. `history`
 * is the decoder input so far, starting with the decoder start token. */
#ifndef NT5_IMPL_LOGITS_PROCESS_H
#define NT5_IMPL_LOGITS_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

/* Applies the processors enabled in `o` to one row of scores [vocab]. */
void lp_process(const nt5_generate_options *o, float *scores, size_t vocab, const int32_t *history, size_t n_history,
                int32_t eos_id);
/* Temperature, top-k and top-p for sampling (filtered entries -> -inf). */
void lp_warp(const nt5_generate_options *o, float *scores, size_t vocab);
/* In place log_softmax; returns nothing, -inf stays -inf. */
void lp_log_softmax(float *scores, size_t vocab);
/* log(sum(exp(scores))) as lp_log_softmax computes it (fp64 sum) */
float lp_logsumexp(const float *scores, size_t vocab);
size_t lp_argmax(const float *scores, size_t vocab);
/* Draws from softmax(scores) with u uniform in [0, 1): the first token
 * whose running sum of exp(score - max) (fp64, in token order) passes
 * u * total, or the last possible one. */
size_t lp_sample(const float *scores, size_t vocab, double u);

/* A beam search candidate: a token extending a decoder row, with its score. */
typedef struct lp_candidate {
    float score;
    int32_t token;
    int32_t row;
} lp_candidate;
/* Keeps top[0:*have] the `want` best candidates fed so far, best first; of
 * equal scores the one fed first stays ahead (as a stable sort would). */
void lp_keep_best(lp_candidate *top, size_t *have, size_t want, lp_candidate c);

#endif
