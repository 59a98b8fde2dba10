/* T5 attention on the CPU: per (batch, head) task, scores = q k^T through
 * BLAS, relative-position bias and masks, softmax in fp32, then p v. A
 * single query (a decoding step) takes plain loops instead: its products
 * are too small for BLAS's call and packing to pay (not under batch
 * invariance, where a one-token input must sum as it would in a batch). */
#include "backend/cpu/cpu_attention.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_blas.h"
#include "backend/cpu/cpu_internal.h"
#include "base/error.h"
#include "base/fast_math.h"
#include "backend/position_bias.h"

typedef struct attn_job {
    const attn_args *a;
    const int *buckets; /* [n_rel] bucket of relative position rel_min + r */
    int64_t rel_min;
    size_t n_rel;
    float *scratch; /* [threads, q_len * kv_len + n_rel] */
    int plain;      /* one query: loops instead of BLAS */
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

/* Keys ahead of the one in use whose rows are asked for: a head's rows are
 * short and far apart (its d values in each position's row of all heads),
 * too few for the hardware prefetchers to follow, and the cache holds them
 * no longer once a decoding step has streamed its weights through. */
#define KEYS_AHEAD 4

/* asks for the d values of row j + KEYS_AHEAD (of rows ld apart from `rows`) */
static inline void fetch_row_ahead(const float *rows, size_t ld, size_t j, size_t n, size_t d) {
    if (j + KEYS_AHEAD >= n) return;
    const float *r = rows + (j + KEYS_AHEAD) * ld;
    for (size_t i = 0; i < d; i += 16) __builtin_prefetch(r + i);
}

/* s[nk] = q . k rows (ld_kv apart), d values each */
NT5_VECTOR_CLONES static void scores_of_one(const float *q, const float *k, size_t ld_kv, size_t nk, size_t d,
                                            float *s) {
    for (size_t j = 0; j < nk; j++) {
        fetch_row_ahead(k, ld_kv, j, nk, d);
        const float *kj = k + j * ld_kv;
        float part[8] = {0};
        size_t i = 0;
        for (; i + 8 <= d; i += 8)
            for (size_t l = 0; l < 8; l++) part[l] += q[i + l] * kj[i + l];
        for (; i < d; i++) part[0] += q[i] * kj[i];
        s[j] = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    }
}

/* out[d] = p[nk] . v rows (ld_kv apart) */
NT5_VECTOR_CLONES static void mix_of_one(const float *p, const float *v, size_t ld_kv, size_t nk, size_t d,
                                         float *out) {
    memset(out, 0, d * sizeof *out);
    for (size_t j = 0; j < nk; j++) {
        fetch_row_ahead(v, ld_kv, j, nk, d);
        for (size_t i = 0; i < d; i++) out[i] += p[j] * v[j * ld_kv + i];
    }
}

static void attn_task(void *ctx, size_t task, size_t slot) {
    attn_job *job = ctx;
    const attn_args *a = job->a;
    size_t b = task / a->heads, h = task % a->heads;
    size_t kvb = b / a->kv_group;
    size_t nk = a->kv_valid ? a->kv_valid[kvb] : a->kv_len;
    if (nk > a->kv_len) nk = a->kv_len;
    const float *q = a->q + b * a->q_len * a->ld_q + h * a->d_kv;
    const float *k = a->k + kvb * a->kv_rows * a->ld_kv + h * a->d_kv;
    const float *v = a->v + kvb * a->kv_rows * a->ld_kv + h * a->d_kv;
    float *out = (float *)a->out + b * a->q_len * a->ld_out + h * a->d_kv;
    if (nk == 0) { /* no key attended (a fully padded row): zeros, without an empty BLAS product */
        for (size_t i = 0; i < a->q_len; i++) memset(out + i * a->ld_out, 0, a->d_kv * sizeof *out);
        return;
    }
    float *s = job->scratch + slot * (a->q_len * a->kv_len + job->n_rel);
    float *bias = s + a->q_len * a->kv_len; /* [n_rel] this head's bias by relative position */
    if (a->bias_table)
        for (size_t r = 0; r < job->n_rel; r++) bias[r] = a->bias_table[(size_t)job->buckets[r] * a->heads + h];
    if (job->plain) {
        scores_of_one(q, k, a->ld_kv, nk, a->d_kv, s);
    } else {
        cpu_blas_enter();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a->q_len, (int)nk, (int)a->d_kv, 1.0f, q,
                    (int)a->ld_q, k, (int)a->ld_kv, 0.0f, s, (int)nk);
    }
    for (size_t i = 0; i < a->q_len; i++) {
        float *row = s + i * nk;
        int64_t pos = (int64_t)(a->q_offset + i);
        size_t n_att = nk;
        if (a->causal && (size_t)pos + 1 < n_att) n_att = (size_t)pos + 1;
        if (a->bias_table) {
            const float *b = bias + (0 - pos - job->rel_min);
            for (size_t j = 0; j < n_att; j++) row[j] += b[j];
        }
        softmax_row(row, n_att, nk);
    }
    if (job->plain) {
        mix_of_one(s, v, a->ld_kv, nk, a->d_kv, out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)a->q_len, (int)a->d_kv, (int)nk, 1.0f, s, (int)nk, v,
                (int)a->ld_kv, 0.0f, out, (int)a->ld_out);
    cpu_blas_leave();
}

void cpu_attention(exec_ctx *x, const attn_args *args) {
    if (!cpu_is_f32(x, args->out_dtype, "attention")) return;
    attn_args step = *args, *a = &step; /* a step's position comes from (host) memory */
    if (a->step_pos) {
        a->q_offset = (size_t)*a->step_pos;
        a->kv_len = a->q_offset + a->q_len;
    }
    cpu_pool *pool = cpu_pool_of(x);
    attn_job job = {.a = a, .plain = a->q_len == 1 && !x->batch_invariant};
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
    job.scratch = malloc((size_t)pool_threads(pool) * (a->q_len * a->kv_len + job.n_rel) * sizeof(float));
    if (!job.scratch) {
        free(buckets);
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in attention");
        return;
    }
    pool_run(pool, a->batch * a->heads, attn_task, &job);
    free(job.scratch);
    free(buckets);
}
