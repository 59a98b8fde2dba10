/* The CUDA backend's token picks: only ids and scores leave the GPU. */
#ifndef NT5_KERNELS_PICKS_H
#define NT5_KERNELS_PICKS_H

#include "kernels/host/internal.h"

void cuda_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs);
void cuda_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                      const double *u, int32_t *ids, float *logprobs);
void cuda_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                          beam_candidate *out);

#endif
