#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "generate/search_greedy.h"

#include "backend/dispatch.h"
#include "backend/picks.h"
#include "base/error.h"
#include "forward/decoder.h"
#include "generate/logits_process.h"
#include "generate/stream.h"

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform draw in [0, 1) with 53 random bits. */
static double uniform(uint64_t *rng) { return (double)(rng_next(rng) >> 11) * (1.0 / 9007199254740992.0); }

typedef struct row_state {
    int32_t *history; /* start token + new tokens */
    size_t n;
    int finished;
    double logprob;
    uint64_t rng;
    token_stream stream;
} row_state;

nt5_status search_greedy(gen_call *g) {
    const nt5_model *m = g->m;
    const nt5_generate_options *o = g->o;
    size_t B = g->in->batch, V = (size_t)m->cfg.vocab_size, steps = (size_t)o->max_new_tokens;
    decoder_state ds;
    nt5_status st = decoder_init(g->x, &m->cfg, &m->w, g->enc_out, B, g->in->len, g->in->lengths, 1, steps, &ds);
    if (st != NT5_OK) return st;
    row_state *rows = calloc(B, sizeof *rows);
    int32_t *tokens = malloc(B * sizeof *tokens);
    float *host = malloc(B * V * sizeof *host);
    float *warped = malloc(V * sizeof *warped);
    float *logits = op_alloc(g->x, B * V); /* [B, V] */
    if (!rows || !tokens || !host || !warped) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t b = 0; b < B && st == NT5_OK; b++) {
        rows[b].history = malloc((steps + 1) * sizeof *rows[b].history);
        if (!rows[b].history) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        else rows[b].history[rows[b].n++] = m->cfg.decoder_start_id;
        rows[b].rng = o->seed ^ (0x632be59bd9b4e019ull * (b + 1));
    }
    size_t live = B;
    int32_t *picks = malloc(B * sizeof *picks);
    float *pick_logprobs = malloc(B * sizeof *pick_logprobs);
    double *draws = malloc(B * sizeof *draws); /* [B] each row's uniform draw of the step */
    if (!picks || !pick_logprobs || !draws) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t step = 0; step < steps && live && st == NT5_OK; step++) {
        for (size_t b = 0; b < B; b++) tokens[b] = rows[b].finished ? m->cfg.pad_id : rows[b].history[rows[b].n - 1];
        decoder_step(g->x, &m->cfg, &m->w, &ds, tokens, logits);
        /* with no processor at work the backend picks (or samples), and only ids and scores reach the host;
         * where min_new_tokens' ban of EOS is the only one, the backend's scores take the ban first */
        int plain = lp_none(o, (int64_t)step);
        if (lp_bans_eos_only(o, (int64_t)step)) {
            plain = 1;
            const float banned = -INFINITY;
            for (size_t b = 0; b < B; b++)
                if (!rows[b].finished) op_upload(g->x, logits + b * V + m->cfg.eos_id, &banned, 1);
        }
        if (plain && o->do_sample) {
            for (size_t b = 0; b < B; b++) draws[b] = rows[b].finished ? 0.0 : uniform(&rows[b].rng);
            op_sample_pick(g->x, logits, B, V, o, draws, picks, pick_logprobs);
        } else if (plain) {
            op_greedy_pick(g->x, logits, B, V, picks, pick_logprobs);
        } else {
            op_download(g->x, host, logits, B * V);
        }
        if ((st = exec_status(g->x)) != NT5_OK) break;
        for (size_t b = 0; b < B && st == NT5_OK; b++) {
            row_state *r = &rows[b];
            if (r->finished) continue;
            size_t pick;
            if (plain) {
                pick = (size_t)picks[b];
                r->logprob += pick_logprobs[b];
            } else {
                float *s = host + b * V;
                lp_process(o, s, V, r->history, r->n, m->cfg.eos_id);
                if (o->do_sample) {
                    /* warp a copy: the score is taken on the processed distribution */
                    memcpy(warped, s, V * sizeof *warped);
                    pick_warp(o, warped, V);
                    pick = pick_sample(warped, V, uniform(&r->rng));
                } else {
                    pick = pick_argmax(s, V);
                }
                pick_log_softmax(s, V);
                r->logprob += s[pick];
            }
            r->history[r->n++] = (int32_t)pick;
            if ((int32_t)pick == m->cfg.eos_id) {
                r->finished = 1;
                live--;
            }
            st = stream_token(g, &r->stream, b, (int32_t)step, (int32_t)pick, r->history + 1, r->n - 1);
        }
    }
    free(picks);
    free(pick_logprobs);
    free(draws);
    for (size_t b = 0; b < B && rows && st == NT5_OK; b++) {
        gen_sequence *out = &g->out[b];
        out->n = rows[b].n - 1;
        out->ids = malloc((out->n ? out->n : 1) * sizeof *out->ids);
        if (!out->ids) {
            st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        memcpy(out->ids, rows[b].history + 1, out->n * sizeof *out->ids);
        out->score = (float)(rows[b].logprob / pow((double)(out->n ? out->n : 1), o->length_penalty));
    }
    for (size_t b = 0; rows && b < B; b++) {
        free(rows[b].history);
        stream_free(&rows[b].stream);
    }
    free(rows);
    free(tokens);
    free(host);
    free(warped);
    op_release(g->x, logits);
    decoder_free(g->x, &m->cfg, &ds);
    return st;
}
