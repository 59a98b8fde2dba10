/* Beam search with Hugging Face's BeamSearchScorer semantics (transformers
 * 4.36): 2 * num_beams candidates per input and step, finished hypotheses
 * scored by sum_logprobs / generated_len^length_penalty. */
#include "generate/search_beam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/dispatch.h"
#include "backend/picks.h"
#include "base/error.h"
#include "forward/decoder.h"
#include "generate/logits_process.h"
#include "generate/stream.h"

typedef struct hypothesis {
    float score;
    int32_t *ids; /* new tokens, </s> included when it ended with one */
    size_t n;
} hypothesis;

typedef struct hyp_set {
    hypothesis *items; /* at most num_beams (+1 while adding) */
    size_t count;
    float worst;
    int done;
} hyp_set;

typedef beam_candidate candidate;

typedef struct beam_run {
    gen_call *g;
    size_t B, K, V;
    hyp_set *sets;      /* [B] */
    float *beam_scores; /* [B*K] */
    int32_t *history;   /* [B*K, max_len + 1] start token + tokens */
    int32_t *next_history;
    size_t hist_stride, len; /* len: tokens in history, start included */
} beam_run;

/* BeamHypotheses.add */
static nt5_status hyp_add(beam_run *r, hyp_set *h, const int32_t *tokens, size_t n, int32_t eos, float sum_logprobs,
                          size_t generated_len) {
    float score = (float)(sum_logprobs / pow((double)generated_len, r->g->o->length_penalty));
    if (h->count >= r->K && !(score > h->worst)) return NT5_OK;
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    if (!ids) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(ids, tokens, n * sizeof *ids);
    if (eos >= 0) ids[n++] = eos;
    h->items[h->count++] = (hypothesis){score, ids, n};
    if (h->count > r->K) {
        size_t worst = 0, second = 1;
        if (h->items[second].score < h->items[worst].score) worst = 1, second = 0;
        for (size_t i = 2; i < h->count; i++) {
            if (h->items[i].score < h->items[worst].score) second = worst, worst = i;
            else if (h->items[i].score < h->items[second].score) second = i;
        }
        h->worst = h->items[second].score;
        free(h->items[worst].ids);
        h->items[worst] = h->items[--h->count];
    } else {
        h->worst = score < h->worst ? score : h->worst;
    }
    return NT5_OK;
}

/* BeamHypotheses.is_done for early_stopping true / false */
static int hyp_is_done(const beam_run *r, const hyp_set *h, float best_sum_logprobs, size_t generated_len) {
    if (h->count < r->K) return 0;
    if (r->g->o->early_stopping) return 1;
    double highest = best_sum_logprobs / pow((double)generated_len, r->g->o->length_penalty);
    return h->worst >= highest;
}

/* The 2K best candidates of input b over its K rows: from the full
 * processed log-probs (scores [rows, V]) plus beam scores, or from the
 * backend's per-row best (rows [rows, 2K]), fed in the same order. */
static void top_candidates(const beam_run *r, const float *scores, const candidate *rows, size_t b, candidate *top) {
    size_t want = 2 * r->K, have = 0;
    for (size_t k = 0; k < r->K; k++) {
        size_t row = b * r->K + k;
        if (rows) {
            for (size_t i = 0; i < want; i++) pick_keep_best(top, &have, want, rows[row * want + i]);
            continue;
        }
        const float *s = scores + row * r->V;
        float base = r->beam_scores[row];
        for (size_t t = 0; t < r->V; t++)
            pick_keep_best(top, &have, want, (candidate){s[t] + base, (int32_t)t, (int32_t)row});
    }
}

/* BeamSearchScorer.process for one step; fills the next beams. */
static nt5_status process_step(beam_run *r, const float *scores, const candidate *rows, int32_t *next_tokens,
                               int32_t *next_rows) {
    const nt5_model *m = r->g->m;
    candidate *top = malloc(2 * r->K * sizeof *top);
    if (!top) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    nt5_status st = NT5_OK;
    size_t cur_len = r->len + 1; /* length including the token being chosen */
    for (size_t b = 0; b < r->B && st == NT5_OK; b++) {
        hyp_set *h = &r->sets[b];
        if (h->done) {
            for (size_t k = 0; k < r->K; k++) {
                r->beam_scores[b * r->K + k] = 0;
                next_tokens[b * r->K + k] = m->cfg.pad_id;
                next_rows[b * r->K + k] = (int32_t)(b * r->K);
            }
            continue;
        }
        top_candidates(r, scores, rows, b, top); /* sorted, best first */
        size_t filled = 0;
        for (size_t rank = 0; rank < 2 * r->K && filled < r->K && st == NT5_OK; rank++) {
            const candidate *c = &top[rank];
            if (c->token == m->cfg.eos_id) {
                if (rank >= r->K) continue;
                st = hyp_add(r, h, r->history + (size_t)c->row * r->hist_stride + 1, r->len - 1, m->cfg.eos_id,
                             c->score, cur_len - 1);
            } else {
                size_t slot = b * r->K + filled++;
                r->beam_scores[slot] = c->score;
                next_tokens[slot] = c->token;
                next_rows[slot] = c->row;
            }
        }
        h->done = h->done || hyp_is_done(r, h, top[0].score, cur_len - 1);
    }
    free(top);
    return st;
}

/* Appends the chosen tokens to the reordered histories. */
static void advance_history(beam_run *r, const int32_t *next_tokens, const int32_t *next_rows) {
    for (size_t i = 0; i < r->B * r->K; i++) {
        memcpy(r->next_history + i * r->hist_stride, r->history + (size_t)next_rows[i] * r->hist_stride,
               r->len * sizeof *r->history);
        r->next_history[i * r->hist_stride + r->len] = next_tokens[i];
    }
    int32_t *t = r->history;
    r->history = r->next_history;
    r->next_history = t;
    r->len++;
}

/* BeamSearchScorer.finalize: unfinished inputs add their live beams, then
 * the best num_return_sequences hypotheses of each input are returned. */
static nt5_status finalize(beam_run *r) {
    nt5_status st = NT5_OK;
    size_t R = (size_t)r->g->o->num_return_sequences;
    for (size_t b = 0; b < r->B && st == NT5_OK; b++) {
        hyp_set *h = &r->sets[b];
        for (size_t k = 0; k < r->K && !h->done && st == NT5_OK; k++) {
            size_t row = b * r->K + k;
            st = hyp_add(r, h, r->history + row * r->hist_stride + 1, r->len - 1, -1, r->beam_scores[row], r->len - 1);
        }
        for (size_t j = 0; j < R && st == NT5_OK; j++) {
            size_t best = 0;
            for (size_t i = 1; i < h->count; i++)
                if (h->items[i].score > h->items[best].score) best = i;
            gen_sequence *out = &r->g->out[b * R + j];
            out->ids = h->items[best].ids;
            out->n = h->items[best].n;
            out->score = h->items[best].score;
            h->items[best] = h->items[--h->count];
        }
    }
    return st;
}

static nt5_status run_steps(beam_run *r, decoder_state *ds, float *logits, float *host, candidate *best,
                            int32_t *tokens, int32_t *next_rows) {
    const nt5_model *m = r->g->m;
    const nt5_generate_options *o = r->g->o;
    size_t rows = r->B * r->K, steps = (size_t)o->max_new_tokens;
    nt5_status st = NT5_OK;
    for (size_t step = 0; step < steps && st == NT5_OK; step++) {
        for (size_t i = 0; i < rows; i++) tokens[i] = r->history[i * r->hist_stride + r->len - 1];
        decoder_step(r->g->x, &m->cfg, &m->w, ds, tokens, logits);
        /* with no processor at work the backend ranks each row, and only 2K candidates a row reach the host */
        int plain = lp_none(o, (int64_t)r->len - 1);
        if (plain) op_beam_candidates(r->g->x, logits, rows, r->V, r->beam_scores, 2 * r->K, best);
        else op_download(r->g->x, host, logits, rows * r->V);
        if ((st = exec_status(r->g->x)) != NT5_OK) break;
        for (size_t i = 0; !plain && i < rows; i++) {
            float *s = host + i * r->V;
            pick_log_softmax(s, r->V);
            lp_process(o, s, r->V, r->history + i * r->hist_stride, r->len, m->cfg.eos_id);
        }
        st = process_step(r, host, plain ? best : NULL, tokens, next_rows);
        if (st != NT5_OK) break;
        decoder_reorder(r->g->x, &m->cfg, ds, next_rows);
        advance_history(r, tokens, next_rows);
        int all_done = 1;
        for (size_t b = 0; b < r->B; b++) all_done &= r->sets[b].done;
        if (r->g->o->on_token) st = stream_token(r->g, &(token_stream){0}, 0, (int32_t)step, -1, NULL, 0);
        if (all_done) break;
    }
    return st;
}

nt5_status search_beam(gen_call *g) {
    const nt5_model *m = g->m;
    size_t B = g->in->batch, K = (size_t)g->o->num_beams, V = (size_t)m->cfg.vocab_size;
    size_t steps = (size_t)g->o->max_new_tokens, rows = B * K;
    beam_run r = {.g = g, .B = B, .K = K, .V = V, .hist_stride = steps + 1, .len = 1};
    decoder_state ds;
    nt5_status st = decoder_init(g->x, &m->cfg, &m->w, g->enc_out, B, g->in->len, g->in->lengths, K, steps, &ds);
    if (st != NT5_OK) return st;
    r.sets = calloc(B, sizeof *r.sets);
    r.beam_scores = malloc(rows * sizeof *r.beam_scores);
    r.history = malloc(rows * r.hist_stride * sizeof *r.history);
    r.next_history = malloc(rows * r.hist_stride * sizeof *r.next_history);
    float *host = malloc(rows * V * sizeof *host);
    candidate *best = malloc(rows * 2 * K * sizeof *best); /* [rows, 2K] the backend's per-row candidates */
    int32_t *tokens = malloc(rows * sizeof *tokens), *next_rows = malloc(rows * sizeof *next_rows);
    float *logits = op_alloc(g->x, rows * V); /* [rows, V] */
    if (!r.sets || !r.beam_scores || !r.history || !r.next_history || !host || !best || !tokens || !next_rows)
        st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t b = 0; b < B && st == NT5_OK; b++) {
        r.sets[b].items = calloc(K + 1, sizeof *r.sets[b].items);
        r.sets[b].worst = 1e9f;
        if (!r.sets[b].items) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < rows && st == NT5_OK; i++) {
        r.history[i * r.hist_stride] = m->cfg.decoder_start_id;
        /* only the first beam of each input starts live */
        r.beam_scores[i] = i % K == 0 ? 0.0f : -1e9f;
    }
    if (st == NT5_OK) st = run_steps(&r, &ds, logits, host, best, tokens, next_rows);
    if (st == NT5_OK) st = finalize(&r);
    for (size_t b = 0; r.sets && b < B; b++) {
        for (size_t i = 0; i < r.sets[b].count; i++) free(r.sets[b].items[i].ids);
        free(r.sets[b].items);
    }
    free(r.sets);
    free(r.beam_scores);
    free(r.history);
    free(r.next_history);
    free(host);
    free(best);
    free(tokens);
    free(next_rows);
    op_release(g->x, logits);
    decoder_free(g->x, &m->cfg, &ds);
    return st;
}
