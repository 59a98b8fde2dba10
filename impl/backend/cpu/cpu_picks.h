/* The CPU backend's token picks (backend.h greedy_pick, sample_pick,
 * beam_candidates). */
#ifndef NT5_IMPL_CPU_PICKS_H
#define NT5_IMPL_CPU_PICKS_H

#include "backend/backend.h"

void cpu_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs);
void cpu_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                     const double *u, int32_t *ids, float *logprobs);
void cpu_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                         beam_candidate *out);

#endif
