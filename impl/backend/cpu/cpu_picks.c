/* The CPU backend's token picks: backend/picks.h's arithmetic per row. */
#include "backend/cpu/cpu_picks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "backend/picks.h"
#include "base/error.h"

void cpu_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs) {
    (void)x;
    for (size_t r = 0; r < rows; r++) {
        const float *s = logits + r * V;
        size_t pick = pick_argmax(s, V);
        ids[r] = (int32_t)pick;
        logprobs[r] = s[pick] - pick_logsumexp(s, V);
    }
}

void cpu_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                     const double *u, int32_t *ids, float *logprobs) {
    float *warped = malloc(V * sizeof *warped); /* [V] a row's scores, warped */
    if (!warped) {
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *s = logits + r * V;
        memcpy(warped, s, V * sizeof *warped);
        pick_warp(o, warped, V);
        size_t pick = pick_sample(warped, V, u[r]);
        ids[r] = (int32_t)pick;
        logprobs[r] = s[pick] - pick_logsumexp(s, V);
    }
    free(warped);
}

void cpu_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                         beam_candidate *out) {
    (void)x;
    for (size_t r = 0; r < rows; r++) {
        const float *s = logits + r * V;
        float lse = pick_logsumexp(s, V);
        beam_candidate *top = out + r * n;
        size_t have = 0;
        for (size_t t = 0; t < V; t++) {
            float v = (s[t] - lse) + base[r];
            if (have == n && !(v > top[n - 1].score)) continue; /* most tokens: no call */
            pick_keep_best(top, &have, n, (beam_candidate){v, (int32_t)t, (int32_t)r});
        }
        for (; have < n; have++) out[r * n + have] = (beam_candidate){-INFINITY, 0, (int32_t)r};
    }
}
