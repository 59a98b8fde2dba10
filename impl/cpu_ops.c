/* CPU implementations of the element-wise ops and the matrix product. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "cpu_internal.h"
#include "fast_math.h"


/* Splits `total` items into pieces of at least `grain`, one or more per thread. */
static size_t split_count(const exec_ctx *x, size_t total, size_t grain) {
    size_t threads = (size_t)pool_threads(cpu_pool_of(x));
    size_t pieces = total / grain;
    if (pieces > threads) pieces = threads;
    return pieces ? pieces : 1;
}

static void piece_range(size_t total, size_t pieces, size_t piece, size_t align, size_t *begin, size_t *end) {
    size_t per = (total + pieces - 1) / pieces;
    per = (per + align - 1) / align * align;
    *begin = piece * per < total ? piece * per : total;
    *end = *begin + per < total ? *begin + per : total;
}

typedef struct embed_job {
    float *out;
    const float *table;
    const int32_t *ids;
    size_t n, d, pieces;
} embed_job;

static void embed_task(void *ctx, size_t piece, size_t slot) {
    (void)slot;
    embed_job *j = ctx;
    size_t b, e;
    piece_range(j->n, j->pieces, piece, 1, &b, &e);
    for (size_t i = b; i < e; i++) memcpy(j->out + i * j->d, j->table + (size_t)j->ids[i] * j->d, j->d * sizeof(float));
}

void cpu_embed(exec_ctx *x, float *out, const float *table, const int32_t *ids, size_t n, size_t d) {
    if (x->status != NT5_OK) return;
    embed_job j = {out, table, ids, n, d, split_count(x, n, 64)};
    pool_run(cpu_pool_of(x), j.pieces, embed_task, &j);
}

typedef struct norm_job {
    float *out;
    const float *in, *w;
    size_t rows, d, pieces;
    float eps, scale;
} norm_job;

static void norm_task(void *ctx, size_t piece, size_t slot) {
    (void)slot;
    norm_job *j = ctx;
    size_t b, e;
    piece_range(j->rows, j->pieces, piece, 1, &b, &e);
    for (size_t r = b; r < e; r++) {
        const float *x = j->in + r * j->d;
        float *y = j->out + r * j->d;
        double ss = 0;
        for (size_t i = 0; i < j->d; i++) ss += (double)x[i] * x[i];
        float inv = 1.0f / sqrtf((float)(ss / (double)j->d) + j->eps);
        for (size_t i = 0; i < j->d; i++) y[i] = j->w[i] * (x[i] * inv) * j->scale;
    }
}

void cpu_rmsnorm(exec_ctx *x, float *out, const float *in, const float *w, size_t rows, size_t d,
                 float eps, float scale) {
    if (x->status != NT5_OK) return;
    norm_job j = {out, in, w, rows, d, split_count(x, rows, 16), eps, scale};
    pool_run(cpu_pool_of(x), j.pieces, norm_task, &j);
}

typedef struct linear_job {
    float *out;
    const float *in, *w;
    size_t ld_out, ld_in, M, N, K, pieces;
    int accumulate;
} linear_job;

typedef float v8f __attribute__((vector_size(32)));

/* macros, not functions: passing 32-byte vectors by value differs between
 * the SSE2 and AVX2 clones */
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define HSUM8(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7]))

/* Four dot products against one weight row, which is read once: the
 * decoding step's product for up to four rows (beams) is bound by reading
 * the weights, and BLAS's sgemm would first copy (pack) them. */
NT5_VECTOR_CLONES static void dot4(const float *w, const float *const x[4], size_t K, float out[4]) {
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        v8f wv, v0, v1, v2, v3;
        LOAD8(wv, w + k);
        LOAD8(v0, x[0] + k);
        LOAD8(v1, x[1] + k);
        LOAD8(v2, x[2] + k);
        LOAD8(v3, x[3] + k);
        a0 += v0 * wv;
        a1 += v1 * wv;
        a2 += v2 * wv;
        a3 += v3 * wv;
    }
    float r0 = HSUM8(a0), r1 = HSUM8(a1), r2 = HSUM8(a2), r3 = HSUM8(a3);
    for (; k < K; k++) {
        r0 += x[0][k] * w[k];
        r1 += x[1][k] * w[k];
        r2 += x[2][k] * w[k];
        r3 += x[3][k] * w[k];
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
}

/* out[M, n0:n1] for 1 < M <= SMALL_M, four input rows at a time */
static void small_m_linear(const linear_job *j, size_t n0, size_t n1) {
    for (size_t m0 = 0; m0 < j->M; m0 += 4) {
        const float *x[4];
        for (size_t i = 0; i < 4; i++) x[i] = j->in + (m0 + i < j->M ? m0 + i : m0) * j->ld_in;
        for (size_t n = n0; n < n1; n++) {
            float r[4];
            dot4(j->w + n * j->K, x, j->K, r);
            for (size_t i = 0; i < 4 && m0 + i < j->M; i++) {
                float *o = j->out + (m0 + i) * j->ld_out + n;
                *o = j->accumulate ? *o + r[i] : r[i];
            }
        }
    }
}

#define SMALL_M 8

/* Each piece computes a block of output columns (rows of w). */
static void linear_task(void *ctx, size_t piece, size_t slot) {
    (void)slot;
    linear_job *j = ctx;
    size_t n0, n1;
    piece_range(j->N, j->pieces, piece, 16, &n0, &n1);
    if (n0 >= n1) return;
    float beta = j->accumulate ? 1.0f : 0.0f;
    if (j->M > 1 && j->M <= SMALL_M)
        small_m_linear(j, n0, n1);
    else if (j->M == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(n1 - n0), (int)j->K, 1.0f, j->w + n0 * j->K, (int)j->K,
                    j->in, 1, beta, j->out + n0, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)(n1 - n0), (int)j->K, 1.0f, j->in,
                    (int)j->ld_in, j->w + n0 * j->K, (int)j->K, beta, j->out + n0, (int)j->ld_out);
}

void cpu_linear(exec_ctx *x, float *out, size_t ld_out, const float *in, size_t ld_in, const float *w,
                size_t M, size_t N, size_t K, int accumulate) {
    if (x->status != NT5_OK || M == 0) return;
    linear_job j = {out, in, w, ld_out, ld_in, M, N, K, split_count(x, N, 64), accumulate};
    pool_run(cpu_pool_of(x), j.pieces, linear_task, &j);
}

/* y[i] = act(x[i]) for one row; one loop per activation so each vectorizes */
NT5_VECTOR_CLONES static void activate_row(float *y, const float *x, size_t n, activation act) {
    switch (act) {
    case ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case ACT_GELU:
        for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    case ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) y[i] = fast_gelu_tanh(x[i]);
        break;
    case ACT_SILU:
        for (size_t i = 0; i < n; i++) y[i] = fast_silu(x[i]);
        break;
    }
}

typedef struct act_job {
    float *out;
    const float *in;
    size_t ld_in, M, F, pieces;
    activation act;
    int gated;
} act_job;

static void act_task(void *ctx, size_t piece, size_t slot) {
    (void)slot;
    act_job *j = ctx;
    size_t b, e;
    piece_range(j->M, j->pieces, piece, 1, &b, &e);
    for (size_t r = b; r < e; r++) {
        const float *x = j->in + r * j->ld_in;
        float *y = j->out + r * j->F;
        activate_row(y, x, j->F, j->act);
        if (j->gated)
            for (size_t i = 0; i < j->F; i++) y[i] *= x[j->F + i];
    }
}

void cpu_ffn_activation(exec_ctx *x, float *out, const float *in, size_t ld_in, size_t M, size_t F,
                        activation act, int gated) {
    if (x->status != NT5_OK) return;
    act_job j = {out, in, ld_in, M, F, split_count(x, M, 8), act, gated};
    pool_run(cpu_pool_of(x), j.pieces, act_task, &j);
}
