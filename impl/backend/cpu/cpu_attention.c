/* T5 attention on the CPU: scores = q k^T, relative-position bias and
 * masks, softmax in fp32, then p v. Many queries: a task per (batch, head),
 * its products through BLAS. A single query (a decoding step): plain loops,
 * its products being too small for BLAS's call and packing to pay (not
 * under batch invariance, where a one-token input must sum as it would in
 * a batch), a task per range of key positions, every head, in one pass
 * down whole key and value rows with a running softmax per head; the
 * ranges' sums are merged after. */
#include "backend/cpu/cpu_attention.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_blas.h"
#include "backend/cpu/cpu_internal.h"
#include "backend/cpu/cpu_parallel.h"
#include "base/error.h"
#include "base/fast_math.h"
#include "backend/position_bias.h"

typedef struct attn_job {
    const attn_args *a;
    const int *buckets; /* [n_rel] bucket of relative position rel_min + r */
    int64_t rel_min;
    size_t n_rel;
    float *scratch;     /* BLAS: [threads, slot_floats]; one query: [batch, ranges, heads, RANGE_SUMS(d_kv)] */
    size_t slot_floats; /* BLAS: q_len * kv_len + n_rel */
    size_t ranges;      /* one query: ranges of key positions a query batch is cut into */
} attn_job;

NT5_VECTOR_CLONES static void softmax_row(float *s, size_t n_attended, size_t n_total) {
    float mx = -INFINITY;
    for (size_t j = 0; j < n_attended; j++) mx = s[j] > mx ? s[j] : mx;
    for (size_t j = 0; j < n_attended; j++) s[j] = fast_expf(s[j] - mx);
    float part[8] = {0};
    size_t j = 0;
    for (; j + 8 <= n_attended; j += 8)
        for (size_t k = 0; k < 8; k++) part[k] += s[j + k];
    for (; j < n_attended; j++) part[0] += s[j];
    float sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    float inv = 1.0f / sum;
    for (size_t j = 0; j < n_attended; j++) s[j] *= inv;
    for (size_t j = n_attended; j < n_total; j++) s[j] = 0;
}

/* q . k over d values, as eight partial sums */
static inline float dot_in_parts(const float *q, const float *k, size_t d) {
    float part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= d; i += 8)
        for (size_t l = 0; l < 8; l++) part[l] += q[i + l] * k[i + l];
    for (; i < d; i++) part[0] += q[i] * k[i];
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* of nk keys, those a query at pos sees: under a causal mask those up to pos */
static size_t causal_keys(const attn_args *a, int64_t pos, size_t nk) {
    return a->causal && (size_t)pos + 1 < nk ? (size_t)pos + 1 : nk;
}

/* Head h's relative-position bias into bias[n_rel], then each of the q_len
 * rows of scores s (nk keys each) biased, masked and softmaxed. */
static void finish_rows(const attn_job *job, float *s, size_t nk, size_t h, float *bias) {
    const attn_args *a = job->a;
    if (a->bias_table)
        for (size_t r = 0; r < job->n_rel; r++) bias[r] = a->bias_table[(size_t)job->buckets[r] * a->heads + h];
    for (size_t i = 0; i < a->q_len; i++) {
        float *row = s + i * nk;
        int64_t pos = (int64_t)(a->q_offset + i);
        size_t n_att = causal_keys(a, pos, nk);
        if (a->bias_table) {
            const float *b = bias + (0 - pos - job->rel_min);
            for (size_t j = 0; j < n_att; j++) row[j] += b[j];
        }
        softmax_row(row, n_att, nk);
    }
}

/* head h of query batch b through BLAS: s [q_len, nk] */
static void blas_head(const attn_job *job, size_t b, size_t h, size_t nk, float *s, float *bias) {
    const attn_args *a = job->a;
    size_t kvb = b / a->kv_group;
    const float *q = a->q + b * a->q_len * a->ld_q + h * a->d_kv;
    const float *k = a->k + kvb * a->kv_rows * a->ld_kv + h * a->d_kv;
    const float *v = a->v + kvb * a->kv_rows * a->ld_kv + h * a->d_kv;
    float *out = (float *)a->out + b * a->q_len * a->ld_out + h * a->d_kv;
    cpu_blas_enter();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a->q_len, (int)nk, (int)a->d_kv, 1.0f, q, (int)a->ld_q, k,
                (int)a->ld_kv, 0.0f, s, (int)nk);
    finish_rows(job, s, nk, h, bias);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)a->q_len, (int)a->d_kv, (int)nk, 1.0f, s, (int)nk, v,
                (int)a->ld_kv, 0.0f, out, (int)a->ld_out);
    cpu_blas_leave();
}

/* the keys query batch b may see: its kv_valid, at most kv_len */
static size_t keys_of(const attn_args *a, size_t b) {
    size_t nk = a->kv_valid ? a->kv_valid[b / a->kv_group] : a->kv_len;
    return nk < a->kv_len ? nk : a->kv_len;
}

/* A task of many queries: one head of one query batch, through BLAS. */
static void head_task(void *ctx, size_t task, size_t slot) {
    attn_job *job = ctx;
    const attn_args *a = job->a;
    size_t b = task / a->heads, h = task % a->heads, nk = keys_of(a, b);
    if (nk == 0) { /* no key attended (a fully padded row): zeros, without an empty BLAS product */
        float *out = (float *)a->out + b * a->q_len * a->ld_out + h * a->d_kv;
        for (size_t i = 0; i < a->q_len; i++) memset(out + i * a->ld_out, 0, a->d_kv * sizeof *out);
        return;
    }
    float *s = job->scratch + slot * job->slot_floats; /* [q_len, kv_len] scores, then [n_rel] the head's bias */
    blas_head(job, b, h, nk, s, s + a->q_len * a->kv_len);
}

/* ---- one query: ranges of keys, every head, one pass down the rows ---- */

/* Keys a range takes at a time: their scores, then their weights (the
 * exponentials in one vectorized pass), then their values. */
#define KEY_BLOCK 16

/* What a range of keys gives one head: the largest score, the sum of
 * e^(score - largest), the sum of e^(score - largest) v [d], and room for
 * a block's scores [KEY_BLOCK]. */
#define RANGE_SUMS(d) ((d) + 2 + KEY_BLOCK)

/* The fewest keys a range is given: a task's start and the merge cost
 * about as much as reading a few rows. */
#define LEAST_RANGE_KEYS 8

/* Keys ahead of the one in use whose rows are asked for: a decoding step
 * finds none of its keys and values in the cache (it has streamed the
 * weights through since). */
#define KEYS_AHEAD 2

static inline void fetch(const float *p, size_t n) {
    for (size_t i = 0; i < n; i += 16) __builtin_prefetch(p + i);
}

/* sums[heads, RANGE_SUMS(d)] over keys j0..j1 of one query (batch b, at
 * position pos), every head, KEY_BLOCK keys at a time: whole rows, one
 * after the other, as memory streams best (two threads each reading a
 * group of heads' part of every row took about a sixth more time). */
NT5_VECTOR_CLONES static void range_sums(const attn_job *job, size_t b, int64_t pos, size_t j0, size_t j1,
                                         float *sums) {
    const attn_args *a = job->a;
    size_t H = a->heads, d = a->d_kv, kvb = b / a->kv_group, ld = a->ld_kv;
    const float *q = a->q + b * a->ld_q;
    const float *k = a->k + kvb * a->kv_rows * ld, *v = a->v + kvb * a->kv_rows * ld;
    for (size_t h = 0; h < H; h++) {
        float *m = sums + h * RANGE_SUMS(d);
        m[0] = -INFINITY;
        memset(m + 1, 0, (d + 1) * sizeof *m);
    }
    for (size_t jb = j0; jb < j1; jb += KEY_BLOCK) {
        size_t nb = j1 - jb < KEY_BLOCK ? j1 - jb : KEY_BLOCK;
        for (size_t t = 0; t < nb; t++) { /* scores: [heads][t] */
            size_t j = jb + t;
            if (j + KEYS_AHEAD < j1) {
                fetch(k + (j + KEYS_AHEAD) * ld, H * d);
                fetch(v + (j + KEYS_AHEAD) * ld, H * d);
            }
            /* the heads' biases at this key's relative position: [heads] */
            const float *bias = a->bias_table
                                    ? a->bias_table + (size_t)job->buckets[(int64_t)j - pos - job->rel_min] * H
                                    : NULL;
            for (size_t h = 0; h < H; h++) {
                float *sc = sums + h * RANGE_SUMS(d) + 2 + d;
                sc[t] = dot_in_parts(q + h * d, k + j * ld + h * d, d);
                if (bias) sc[t] += bias[h];
            }
        }
        for (size_t h = 0; h < H; h++) { /* weights, the sums rescaled to a new largest score */
            float *m = sums + h * RANGE_SUMS(d), *acc = m + 2, *sc = acc + d;
            float top = m[0];
            for (size_t t = 0; t < nb; t++) top = sc[t] > top ? sc[t] : top;
            if (top > m[0]) { /* from -inf the sums are 0 */
                float c = fast_expf(m[0] - top);
                m[1] *= c;
                for (size_t i = 0; i < d; i++) acc[i] *= c;
                m[0] = top;
            }
            for (size_t t = 0; t < nb; t++) sc[t] = fast_expf(sc[t] - top);
            for (size_t t = 0; t < nb; t++) m[1] += sc[t];
        }
        for (size_t t = 0; t < nb; t++) /* values */
            for (size_t h = 0; h < H; h++) {
                float *acc = sums + h * RANGE_SUMS(d) + 2, p = acc[d + t];
                const float *vj = v + (jb + t) * ld + h * d;
                for (size_t i = 0; i < d; i++) acc[i] += p * vj[i];
            }
    }
}

/* the keys query batch b's query at pos sees */
static size_t keys_seen(const attn_args *a, size_t b, int64_t pos) { return causal_keys(a, pos, keys_of(a, b)); }

/* A task of one query: one range of one query batch's keys. */
static void range_task(void *ctx, size_t task, size_t slot) {
    (void)slot;
    attn_job *job = ctx;
    const attn_args *a = job->a;
    size_t b = task / job->ranges, j0, j1;
    int64_t pos = (int64_t)a->q_offset;
    cpu_piece_range(keys_seen(a, b, pos), job->ranges, task % job->ranges, 1, &j0, &j1);
    range_sums(job, b, pos, j0, j1, job->scratch + task * a->heads * RANGE_SUMS(a->d_kv));
}

/* out for query batch b: each head's ranges merged, a range weighted by
 * e^(its largest - the largest of all); no key seen: zeros */
static void merge_ranges(const attn_job *job, size_t b) {
    const attn_args *a = job->a;
    size_t d = a->d_kv, n = RANGE_SUMS(d);
    const float *sums = job->scratch + b * job->ranges * a->heads * n; /* [ranges, heads, n] */
    int seen = keys_seen(a, b, (int64_t)a->q_offset) > 0;
    for (size_t h = 0; h < a->heads; h++) {
        float *out = (float *)a->out + b * a->ld_out + h * d;
        memset(out, 0, d * sizeof *out);
        if (!seen) continue;
        const float *head = sums + h * n; /* range r's sums at head + r * heads * n */
        float top = -INFINITY, total = 0;
        for (size_t r = 0; r < job->ranges; r++) top = head[r * a->heads * n] > top ? head[r * a->heads * n] : top;
        for (size_t r = 0; r < job->ranges; r++) {
            const float *m = head + r * a->heads * n;
            float w = fast_expf(m[0] - top); /* an empty range: m[0] -inf, its sums 0 */
            total += w * m[1];
            for (size_t i = 0; i < d; i++) out[i] += w * m[2 + i];
        }
        float inv = 1.0f / total;
        for (size_t i = 0; i < d; i++) out[i] *= inv;
    }
}

/* one query per batch: as many ranges of keys a batch as keep the threads
 * busy, of at least LEAST_RANGE_KEYS keys */
static void one_query(exec_ctx *x, attn_job *job) {
    const attn_args *a = job->a;
    size_t threads = cpu_threads(x), ranges = (threads + a->batch - 1) / a->batch, most = a->kv_len / LEAST_RANGE_KEYS;
    job->ranges = ranges < most ? ranges : most ? most : 1;
    job->scratch = malloc(a->batch * job->ranges * a->heads * RANGE_SUMS(a->d_kv) * sizeof(float));
    if (!job->scratch) {
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in attention");
        return;
    }
    cpu_run(x, a->batch * job->ranges, range_task, job);
    for (size_t b = 0; b < a->batch; b++) merge_ranges(job, b);
    free(job->scratch);
}

/* many queries: a task per (batch, head) */
static void many_queries(exec_ctx *x, attn_job *job) {
    const attn_args *a = job->a;
    size_t threads = cpu_threads(x);
    job->slot_floats = a->q_len * a->kv_len + job->n_rel;
    job->scratch = malloc(threads * job->slot_floats * sizeof(float));
    if (!job->scratch) {
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in attention");
        return;
    }
    cpu_run(x, a->batch * a->heads, head_task, job);
    free(job->scratch);
}

void cpu_attention(exec_ctx *x, const attn_args *args) {
    if (!cpu_is_f32(x, args->out_dtype, "attention")) return;
    attn_args step = *args, *a = &step; /* a step's position comes from (host) memory */
    if (a->step_pos) {
        a->q_offset = (size_t)*a->step_pos;
        a->kv_len = a->q_offset + a->q_len;
    }
    attn_job job = {.a = a};
    int *buckets = NULL;
    if (a->bias_table) {
        /* relative positions key - query span [-(q_offset + q_len - 1), kv_len - 1] */
        job.rel_min = -(int64_t)(a->q_offset + a->q_len - 1);
        size_t n_rel = a->q_offset + a->q_len - 1 + a->kv_len;
        job.n_rel = n_rel;
        buckets = malloc(n_rel * sizeof *buckets);
        if (!buckets) {
            x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in attention");
            return;
        }
        for (size_t r = 0; r < n_rel; r++)
            buckets[r] = position_bucket(job.rel_min + (int64_t)r, a->bidirectional, a->num_buckets, a->max_distance);
        job.buckets = buckets;
    }
    if (a->q_len == 1 && !x->batch_invariant) one_query(x, &job);
    else many_queries(x, &job);
    free(buckets);
}
