/* CPU implementations of the element-wise ops and the matrix product. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

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

/* Each piece computes a block of output columns (rows of w). */
static void linear_task(void *ctx, size_t piece, size_t slot) {
    (void)slot;
    linear_job *j = ctx;
    size_t n0, n1;
    piece_range(j->N, j->pieces, piece, 16, &n0, &n1);
    if (n0 >= n1) return;
    float beta = j->accumulate ? 1.0f : 0.0f;
    if (j->M == 1)
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

static float activate(float v, activation act) {
    switch (act) {
    case ACT_RELU: return v > 0 ? v : 0;
    case ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case ACT_GELU_TANH:
        return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case ACT_SILU: return v / (1.0f + expf(-v));
    }
    return v;
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
        for (size_t i = 0; i < j->F; i++) {
            float a = activate(x[i], j->act);
            y[i] = j->gated ? a * x[j->F + i] : a;
        }
    }
}

void cpu_ffn_activation(exec_ctx *x, float *out, const float *in, size_t ld_in, size_t M, size_t F,
                        activation act, int gated) {
    if (x->status != NT5_OK) return;
    act_job j = {out, in, ld_in, M, F, split_count(x, M, 8), act, gated};
    pool_run(cpu_pool_of(x), j.pieces, act_task, &j);
}
