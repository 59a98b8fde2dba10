#include "generate/logits_process.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void repetition_penalty(float *scores, const int32_t *history, size_t n, float penalty) {
    /* CTRL: each token seen once is penalised once, whatever its count */
    for (size_t i = 0; i < n; i++) {
        int32_t t = history[i];
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) seen = history[j] == t;
        if (seen) continue;
        float s = scores[t];
        scores[t] = s < 0 ? s * penalty : s / penalty;
    }
}

static void no_repeat_ngram(float *scores, const int32_t *history, size_t n, size_t ngram) {
    if (ngram == 0 || n + 1 < ngram) return;
    /* ban every token that would complete an n-gram already in history */
    const int32_t *tail = history + n - (ngram - 1);
    for (size_t start = 0; start + ngram <= n; start++)
        if (memcmp(history + start, tail, (ngram - 1) * sizeof *tail) == 0) scores[history[start + ngram - 1]] = -INFINITY;
}

void lp_process(const nt5_generate_options *o, float *scores, size_t vocab, const int32_t *history, size_t n_history,
                int32_t eos_id) {
    (void)vocab;
    if (o->repetition_penalty != 1.0f) repetition_penalty(scores, history, n_history, o->repetition_penalty);
    if (o->no_repeat_ngram_size > 0) no_repeat_ngram(scores, history, n_history, (size_t)o->no_repeat_ngram_size);
    /* history holds the start token plus the new tokens */
    if ((int64_t)n_history - 1 < o->min_new_tokens) scores[eos_id] = -INFINITY;
}

static int desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

void lp_warp(const nt5_generate_options *o, float *scores, size_t vocab) {
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

size_t lp_sample(const float *scores, size_t vocab, double u) {
    float mx = scores[lp_argmax(scores, vocab)];
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

float lp_logsumexp(const float *s, size_t vocab) {
    float mx = -INFINITY;
    for (size_t i = 0; i < vocab; i++) mx = s[i] > mx ? s[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < vocab; i++) sum += exp((double)(s[i] - mx));
    return mx + (float)log(sum);
}

void lp_log_softmax(float *s, size_t vocab) {
    float lse = lp_logsumexp(s, vocab);
    for (size_t i = 0; i < vocab; i++) s[i] -= lse;
}

size_t lp_argmax(const float *s, size_t vocab) {
    size_t best = 0;
    for (size_t i = 1; i < vocab; i++)
        if (s[i] > s[best]) best = i;
    return best;
}

void lp_keep_best(lp_candidate *top, size_t *have, size_t want, lp_candidate c) {
    if (*have == want && !(c.score > top[*have - 1].score)) return;
    size_t at = *have < want ? (*have)++ : *have - 1;
    while (at > 0 && top[at - 1].score < c.score) {
        top[at] = top[at - 1];
        at--;
    }
    top[at] = c;
}
