/* The CPU backend's row-wise ops: embedding gather, RMSNorm, activations.
 * Each is a function of one row, run over the rows by cpu_for_rows(). */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "base/fast_math.h"
#include "base/half.h"

size_t cpu_split_count(const exec_ctx *x, size_t total, size_t grain) {
    size_t threads = (size_t)pool_threads(cpu_pool_of(x));
    size_t pieces = total / grain;
    if (pieces > threads) pieces = threads;
    return pieces ? pieces : 1;
}

void cpu_piece_range(size_t total, size_t pieces, size_t piece, size_t align, size_t *begin, size_t *end) {
    size_t per = (total + pieces - 1) / pieces;
    per = (per + align - 1) / align * align;
    *begin = piece * per < total ? piece * per : total;
    *end = *begin + per < total ? *begin + per : total;
}

typedef struct rows_job {
    void (*fn)(const void *ctx, size_t row);
    const void *ctx;
    size_t rows, pieces;
} rows_job;

static void rows_task(void *job, size_t piece, size_t slot) {
    (void)slot;
    const rows_job *j = job;
    size_t b, e;
    cpu_piece_range(j->rows, j->pieces, piece, 1, &b, &e);
    for (size_t r = b; r < e; r++) j->fn(j->ctx, r);
}

/* Runs fn(ctx, row) for every row, in pieces of at least `grain` rows. */
static void cpu_for_rows(exec_ctx *x, size_t rows, size_t grain, void (*fn)(const void *, size_t), const void *ctx) {
    if (x->status != NT5_OK) return;
    rows_job j = {fn, ctx, rows, cpu_split_count(x, rows, grain)};
    pool_run(cpu_pool_of(x), j.pieces, rows_task, &j);
}

typedef struct embed_args {
    float *out;
    const wmat *table;
    const int32_t *ids;
    size_t d;
} embed_args;

static void embed_row(const void *ctx, size_t i) {
    const embed_args *a = ctx;
    size_t elem = a->table->dtype == NT5_DTYPE_BF16 ? 2 : 4;
    half_to_f32(a->out + i * a->d, (const char *)a->table->data + (size_t)a->ids[i] * a->d * elem, a->d,
                a->table->dtype);
}

void cpu_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d) {
    embed_args a = {out, table, ids, d};
    cpu_for_rows(x, n, 64, embed_row, &a);
}

typedef struct norm_args {
    float *out;
    const float *in, *w;
    size_t d;
    float eps, scale;
} norm_args;

static void norm_row(const void *ctx, size_t r) {
    const norm_args *a = ctx;
    const float *x = a->in + r * a->d;
    float *y = a->out + r * a->d;
    double ss = 0;
    for (size_t i = 0; i < a->d; i++) ss += (double)x[i] * x[i];
    float inv = 1.0f / sqrtf((float)(ss / (double)a->d) + a->eps);
    for (size_t i = 0; i < a->d; i++) y[i] = a->w[i] * (x[i] * inv) * a->scale;
}

void cpu_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows,
                 size_t d, float eps, float scale) {
    if (!cpu_is_f32(x, out_dtype, "rmsnorm")) return;
    norm_args a = {out, in, w, d, eps, scale};
    cpu_for_rows(x, rows, 16, norm_row, &a);
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

typedef struct act_args {
    float *out;
    const float *in;
    size_t ld_in, F;
    float scale;
    activation act;
    int gated;
} act_args;

static void act_row(const void *ctx, size_t r) {
    const act_args *a = ctx;
    const float *x = a->in + r * a->ld_in;
    float *y = a->out + r * a->F;
    activate_row(y, x, a->F, a->act);
    if (a->gated)
        for (size_t i = 0; i < a->F; i++) y[i] *= x[a->F + i];
    if (a->scale != 1.0f)
        for (size_t i = 0; i < a->F; i++) y[i] *= a->scale;
}

/* the product, then ReLU and the scale in place, row by row */
static void relu_row(const void *ctx, size_t r) {
    const act_args *a = ctx;
    float *y = a->out + r * a->F;
    for (size_t i = 0; i < a->F; i++) y[i] = (y[i] > 0 ? y[i] : 0) * a->scale;
}

void cpu_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                     size_t ld_in, const wmat *w, size_t M, size_t N, size_t K) {
    if (!cpu_is_f32(x, out_dtype, "matrix product")) return;
    cpu_linear(x, out, N, in, in_dtype, ld_in, w, M, N, K, 0);
    act_args a = {out, NULL, 0, N, out_scale, ACT_RELU, 0};
    if (x->status == NT5_OK) cpu_for_rows(x, M, 8, relu_row, &a);
}

void cpu_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in,
                        size_t ld_in, size_t M, size_t F, activation act, int gated) {
    if (!cpu_is_f32(x, out_dtype, "activation")) return;
    act_args a = {out, in, ld_in, F, out_scale, act, gated};
    cpu_for_rows(x, M, 8, act_row, &a);
}
