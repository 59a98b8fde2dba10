#include "backend/picks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fast_math.h"

static int desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

void pick_warp(const nt5_generate_options *o, float *scores, size_t vocab) {
    if (o->temperature != 1.0f)
        for (size_t i = 0; i < vocab; i++) scores[i] /= o->temperature;
    float *sorted = NULL;
    if ((o->top_k > 0 && (size_t)o->top_k < vocab) || o->top_p < 1.0f) {
        sorted = malloc(vocab * sizeof *sorted);
        if (!sorted) return; /* no filtering is still a valid distribution */
        memcpy(sorted, scores, vocab * sizeof *sorted);
        qsort(sorted, vocab, sizeof *sorted, desc);
    }
    if (o->top_k > 0 && (size_t)o->top_k < vocab) {
        float kth = sorted[o->top_k - 1];
        for (size_t i = 0; i < vocab; i++)
            if (scores[i] < kth) scores[i] = -INFINITY;
        for (size_t i = (size_t)o->top_k; i < vocab; i++)
            if (sorted[i] < kth) sorted[i] = -INFINITY;
    }
    if (o->top_p < 1.0f) {
        /* keep the smallest set of most likely tokens whose mass reaches top_p */
        double total = 0, mass = 0;
        for (size_t i = 0; i < vocab; i++) total += isinf(sorted[i]) ? 0 : exp((double)sorted[i] - sorted[0]);
        size_t keep = 0;
        while (keep < vocab && mass < (double)o->top_p * total) {
            mass += isinf(sorted[keep]) ? 0 : exp((double)sorted[keep] - sorted[0]);
            keep++;
        }
        float cutoff = sorted[keep ? keep - 1 : 0];
        for (size_t i = 0; i < vocab; i++)
            if (scores[i] < cutoff) scores[i] = -INFINITY;
    }
    free(sorted);
}

size_t pick_sample(const float *scores, size_t vocab, double u) {
    float mx = scores[pick_argmax(scores, vocab)];
    double total = 0;
    for (size_t i = 0; i < vocab; i++) total += exp((double)(scores[i] - mx));
    double target = u * total, acc = 0;
    size_t last = 0;
    for (size_t i = 0; i < vocab; i++) {
        double p = exp((double)(scores[i] - mx));
        if (p == 0) continue;
        acc += p;
        last = i;
        if (target < acc) return i;
    }
    return last;
}

/* The largest score that is not NaN (-inf if none), in eight lanes: a
 * single running maximum waits on itself at every score. */
NT5_VECTOR_CLONES static float largest(const float *s, size_t vocab) {
    float lane[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    size_t i = 0;
    for (; i + 8 <= vocab; i += 8)
        for (size_t k = 0; k < 8; k++) lane[k] = s[i + k] > lane[k] ? s[i + k] : lane[k];
    for (; i < vocab; i++) lane[0] = s[i] > lane[0] ? s[i] : lane[0];
    float mx = lane[0];
    for (size_t k = 1; k < 8; k++) mx = lane[k] > mx ? lane[k] : mx;
    return mx;
}

/* float exps (libm's double exp took a decoding step's 0.2 ms for a 32k
 * vocabulary on one thread while the others waited), summed in doubles */
NT5_VECTOR_CLONES float pick_logsumexp(const float *s, size_t vocab) {
    float mx = largest(s, vocab);
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= vocab; i += 8)
        for (size_t k = 0; k < 8; k++) part[k] += (double)fast_expf(s[i + k] - mx);
    for (; i < vocab; i++) part[0] += (double)fast_expf(s[i] - mx);
    double sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    return mx + (float)log(sum);
}

void pick_log_softmax(float *s, size_t vocab) {
    float lse = pick_logsumexp(s, vocab);
    for (size_t i = 0; i < vocab; i++) s[i] -= lse;
}

size_t pick_argmax(const float *s, size_t vocab) {
    /* the first score that none after it exceeds, NaNs passed over; a
     * first score of NaN is kept, as a scan comparing with it keeps it */
    if (vocab == 0 || s[0] != s[0]) return 0;
    float mx = largest(s, vocab);
    size_t best = 0;
    while (s[best] != mx) best++;
    return best;
}

void pick_keep_best(beam_candidate *top, size_t *have, size_t want, beam_candidate c) {
    if (*have == want && !(c.score > top[*have - 1].score)) return;
    size_t at = *have < want ? (*have)++ : *have - 1;
    while (at > 0 && top[at - 1].score < c.score) {
        top[at] = top[at - 1];
        at--;
    }
    top[at] = c;
}
