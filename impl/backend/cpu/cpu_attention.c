/* T5 attention on the CPU: scores = q k^T, relative-position bias and
 * masks, softmax in fp32, then p v. Many queries: a task per (batch, head),
 * its products through BLAS. A single query (a decoding step): plain loops,
 * its products being too small for BLAS's call and packing to pay (not
 * under batch invariance, where a one-token input must sum as it would in
 * a batch), a task per group of heads, which reads its heads' part of each
 * key and value row in one pass. */
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
    float *scratch;             /* [threads, slot_floats] */
    size_t slot_floats;         /* group_heads * q_len * kv_len + n_rel */
    int plain;                  /* one query: loops instead of BLAS */
    size_t group_heads, groups; /* a task's heads (plain loops: a group of them), groups per query batch */
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

/* Keys ahead of the one in use whose rows are asked for: a decoding step
 * finds none of its keys and values in the cache (it has streamed the
 * weights through since), and a group's part of each row is short and rows
 * are far apart, too little for the hardware prefetchers to follow. */
#define KEYS_AHEAD 2

/* asks for n floats of row j + KEYS_AHEAD (rows ld apart from `rows`) */
static inline void fetch_row_ahead(const float *rows, size_t ld, size_t j, size_t nk, size_t n) {
    if (j + KEYS_AHEAD >= nk) return;
    const float *r = rows + (j + KEYS_AHEAD) * ld;
    for (size_t i = 0; i < n; i += 16) __builtin_prefetch(r + i);
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

/* s[g][nk] (rows ld_s apart) = head g's query . its part of each key row,
 * for the G heads of a group (d values each, side by side in q and in
 * every key row): one pass down the rows, reading the group's part of each */
NT5_VECTOR_CLONES static void group_scores(const float *q, const float *k, size_t ld_kv, size_t nk, size_t d, size_t G,
                                           float *s, size_t ld_s) {
    for (size_t j = 0; j < nk; j++) {
        fetch_row_ahead(k, ld_kv, j, nk, G * d);
        for (size_t g = 0; g < G; g++) s[g * ld_s + j] = dot_in_parts(q + g * d, k + j * ld_kv + g * d, d);
    }
}

/* out[G * d] (the heads side by side) = p[g][nk] (rows ld_p apart) . head
 * g's part of the value rows, for the G heads of a group, one pass down
 * the rows */
NT5_VECTOR_CLONES static void group_mix(const float *p, size_t ld_p, const float *v, size_t ld_kv, size_t nk, size_t d,
                                        size_t G, float *out) {
    for (size_t g = 0; g < G; g++) memset(out + g * d, 0, d * sizeof *out);
    for (size_t j = 0; j < nk; j++) {
        fetch_row_ahead(v, ld_kv, j, nk, G * d);
        for (size_t g = 0; g < G; g++) {
            const float *vj = v + j * ld_kv + g * d;
            float *o = out + g * d, pj = p[g * ld_p + j];
            for (size_t i = 0; i < d; i++) o[i] += pj * vj[i];
        }
    }
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
        size_t n_att = nk;
        if (a->causal && (size_t)pos + 1 < n_att) n_att = (size_t)pos + 1;
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

/* heads h0 .. h0 + G - 1 of one query (batch b) in plain loops: s [G, nk] */
static void plain_group(const attn_job *job, size_t b, size_t h0, size_t G, size_t nk, float *s, float *bias) {
    const attn_args *a = job->a;
    size_t kvb = b / a->kv_group, d = a->d_kv;
    const float *k = a->k + kvb * a->kv_rows * a->ld_kv + h0 * d;
    const float *v = a->v + kvb * a->kv_rows * a->ld_kv + h0 * d;
    group_scores(a->q + b * a->ld_q + h0 * d, k, a->ld_kv, nk, d, G, s, nk);
    for (size_t g = 0; g < G; g++) finish_rows(job, s + g * nk, nk, h0 + g, bias);
    group_mix(s, nk, v, a->ld_kv, nk, d, G, (float *)a->out + b * a->ld_out + h0 * d);
}

/* A task: one group of heads of one query batch. */
static void attn_task(void *ctx, size_t task, size_t slot) {
    attn_job *job = ctx;
    const attn_args *a = job->a;
    size_t b = task / job->groups, h0 = task % job->groups * job->group_heads;
    size_t G = a->heads - h0 < job->group_heads ? a->heads - h0 : job->group_heads;
    size_t nk = a->kv_valid ? a->kv_valid[b / a->kv_group] : a->kv_len;
    if (nk > a->kv_len) nk = a->kv_len;
    if (nk == 0) { /* no key attended (a fully padded row): zeros, without an empty BLAS product */
        float *out = (float *)a->out + b * a->q_len * a->ld_out + h0 * a->d_kv;
        for (size_t i = 0; i < a->q_len; i++) memset(out + i * a->ld_out, 0, G * a->d_kv * sizeof *out);
        return;
    }
    float *s = job->scratch + slot * job->slot_floats; /* [G, q_len * kv_len] scores */
    float *bias = s + G * a->q_len * a->kv_len;        /* [n_rel] a head's bias by relative position */
    if (job->plain) plain_group(job, b, h0, G, nk, s, bias);
    else
        for (size_t g = 0; g < G; g++) blas_head(job, b, h0 + g, nk, s, bias);
}

void cpu_attention(exec_ctx *x, const attn_args *args) {
    if (!cpu_is_f32(x, args->out_dtype, "attention")) return;
    attn_args step = *args, *a = &step; /* a step's position comes from (host) memory */
    if (a->step_pos) {
        a->q_offset = (size_t)*a->step_pos;
        a->kv_len = a->q_offset + a->q_len;
    }
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
    /* plain loops take the heads in as few groups as keep the threads busy,
     * so that each reads one longer part of every key and value row */
    size_t threads = cpu_threads(x), wanted = (threads + a->batch - 1) / a->batch;
    job.group_heads = job.plain ? (a->heads + wanted - 1) / wanted : 1;
    job.groups = (a->heads + job.group_heads - 1) / job.group_heads;
    job.slot_floats = job.group_heads * a->q_len * a->kv_len + job.n_rel;
    job.scratch = malloc(threads * job.slot_floats * sizeof(float));
    if (!job.scratch) {
        free(buckets);
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in attention");
        return;
    }
    cpu_run(x, a->batch * job.groups, attn_task, &job);
    free(job.scratch);
    free(buckets);
}
