#include "generate/logits_process.h"

#include <math.h>
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
        if (memcmp(history + start, tail, (ngram - 1) * sizeof *tail) == 0)
            scores[history[start + ngram - 1]] = -INFINITY;
}

void lp_process(const nt5_generate_options *o, float *scores, size_t vocab, const int32_t *history, size_t n_history,
                int32_t eos_id) {
    (void)vocab;
    if (o->repetition_penalty != 1.0f) repetition_penalty(scores, history, n_history, o->repetition_penalty);
    if (o->no_repeat_ngram_size > 0) no_repeat_ngram(scores, history, n_history, (size_t)o->no_repeat_ngram_size);
    /* history holds the start token plus the new tokens */
    if ((int64_t)n_history - 1 < o->min_new_tokens) scores[eos_id] = -INFINITY;
}

/* neither of the processors that look at the history is enabled */
static int history_free(const nt5_generate_options *o) {
    return o->repetition_penalty == 1.0f && o->no_repeat_ngram_size == 0;
}

int lp_none(const nt5_generate_options *o, int64_t step) { return history_free(o) && step >= o->min_new_tokens; }

int lp_bans_eos_only(const nt5_generate_options *o, int64_t step) {
    return history_free(o) && step < o->min_new_tokens;
}
