/* CPU implementations of the element-wise ops and the matrix product. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "error.h"
#include "fast_math.h"
#include "half.h"


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
    const wmat *table;
    const int32_t *ids;
    size_t n, d, pieces;
} embed_job;

static void embed_task(void *ctx, size_t piece, size_t slot) {
    (void)slot;
    embed_job *j = ctx;
    size_t b, e;
    size_t elem = j->table->dtype == NT5_DTYPE_BF16 ? 2 : 4;
    piece_range(j->n, j->pieces, piece, 1, &b, &e);
    for (size_t i = b; i < e; i++)
        half_to_f32(j->out + i * j->d, (const char *)j->table->data + (size_t)j->ids[i] * j->d * elem, j->d,
                    j->table->dtype);
}

void cpu_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d) {
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
    const float *in;
    const wmat *w;
    size_t ld_out, ld_in, M, N, K, pieces;
    int accumulate;
    float *tiles; /* [threads, TILE_ROWS * K]: bf16 weights widened for BLAS */
    float *xs;    /* [K] the input row deinterleaved (M == 1, bf16 weights) */
} linear_job;

typedef float v8f __attribute__((vector_size(32)));
typedef uint16_t v8h __attribute__((vector_size(16)));
typedef uint32_t v8u __attribute__((vector_size(32)));

/* macros, not functions: passing 32-byte vectors by value differs between
 * the SSE2 and AVX2 clones */
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define HSUM8(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7]))
/* 8 bfloat16 values at p as floats: the bf16 bits are a float's top half */
#define LOAD8_BF16(dst, p)                                                        \
    do {                                                                          \
        v8h h_;                                                                   \
        memcpy(&h_, (p), sizeof h_);                                              \
        v8u u_ = __builtin_convertvector(h_, v8u) << 16;                          \
        memcpy(&(dst), &u_, sizeof(dst));                                         \
    } while (0)

/* Four dot products against one weight row, which is read once: the
 * decoding step's product for up to four rows (beams) is bound by reading
 * the weights, and BLAS's sgemm would first copy (pack) them. */
#define DOT4_BODY(LOAD_W, W_AT)                                                   \
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                   \
    size_t k = 0;                                                                 \
    for (; k + 8 <= K; k += 8) {                                                  \
        v8f wv, v0, v1, v2, v3;                                                   \
        LOAD_W(wv, w + k);                                                        \
        LOAD8(v0, x[0] + k);                                                      \
        LOAD8(v1, x[1] + k);                                                      \
        LOAD8(v2, x[2] + k);                                                      \
        LOAD8(v3, x[3] + k);                                                      \
        a0 += v0 * wv;                                                            \
        a1 += v1 * wv;                                                            \
        a2 += v2 * wv;                                                            \
        a3 += v3 * wv;                                                            \
    }                                                                             \
    float r0 = HSUM8(a0), r1 = HSUM8(a1), r2 = HSUM8(a2), r3 = HSUM8(a3);         \
    for (; k < K; k++) {                                                          \
        float wk = W_AT(w, k);                                                    \
        r0 += x[0][k] * wk;                                                       \
        r1 += x[1][k] * wk;                                                       \
        r2 += x[2][k] * wk;                                                       \
        r3 += x[3][k] * wk;                                                       \
    }                                                                             \
    out[0] = r0;                                                                  \
    out[1] = r1;                                                                  \
    out[2] = r2;                                                                  \
    out[3] = r3;

#define F32_AT(w, k) (w)[k]
#define BF16_AT(w, k) half_bf16_to_f32((w)[k])

NT5_VECTOR_CLONES static void dot4_f32(const float *w, const float *const x[4], size_t K, float out[4]) {
    DOT4_BODY(LOAD8, F32_AT)
}

NT5_VECTOR_CLONES static void dot4_bf16(const uint16_t *w, const float *const x[4], size_t K, float out[4]) {
    DOT4_BODY(LOAD8_BF16, BF16_AT)
}

/* x rearranged for dot_rows4_bf16: in each block of 16, the 8 values at
 * even positions, then the 8 at odd positions (the tail stays in order). */
static void deinterleave16(float *dst, const float *x, size_t K) {
    size_t k = 0;
    for (; k + 16 <= K; k += 16)
        for (size_t i = 0; i < 8; i++) {
            dst[k + i] = x[k + 2 * i];
            dst[k + 8 + i] = x[k + 2 * i + 1];
        }
    for (; k < K; k++) dst[k] = x[k];
}

/* One input row (deinterleaved as above) against four bf16 weight rows.
 * Two bf16 values share a 32-bit word: the even one becomes a float by a
 * shift, the odd one by a mask, so no lane shuffles are needed. */
NT5_VECTOR_CLONES static void dot_rows4_bf16(const uint16_t *w, size_t ldw, const float *xs, size_t K, float out[4]) {
    v8f acc[4] = {{0}, {0}, {0}, {0}};
    const v8u high = {0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u,
                      0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u};
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        v8f xe, xo;
        LOAD8(xe, xs + k);
        LOAD8(xo, xs + k + 8);
        for (size_t r = 0; r < 4; r++) {
            v8u u;
            memcpy(&u, w + r * ldw + k, sizeof u);
            v8f even = (v8f)(u << 16), odd = (v8f)(u & high);
            acc[r] += even * xe + odd * xo;
        }
    }
    for (size_t r = 0; r < 4; r++) {
        float sum = HSUM8(acc[r]);
        for (size_t t = k; t < K; t++) sum += half_bf16_to_f32(w[r * ldw + t]) * xs[t];
        out[r] = sum;
    }
}

/* out[0, n0:n1] = x . w rows for bf16 weights, four rows at a time */
static void bf16_vector_linear(const linear_job *j, size_t n0, size_t n1) {
    const uint16_t *w = j->w->data;
    for (size_t n = n0; n < n1; n += 4) {
        float r[4];
        if (n + 4 <= n1) {
            dot_rows4_bf16(w + n * j->K, j->K, j->xs, j->K, r);
        } else {
            const float *x[4] = {j->in, j->in, j->in, j->in};
            for (size_t i = 0; n + i < n1; i++) {
                float q[4];
                dot4_bf16(w + (n + i) * j->K, x, j->K, q);
                r[i] = q[0];
            }
        }
        for (size_t i = 0; i < 4 && n + i < n1; i++) j->out[n + i] = j->accumulate ? j->out[n + i] + r[i] : r[i];
    }
}

/* out[M, n0:n1] for M <= SMALL_M, four input rows at a time, each weight
 * row read once per group */
static void small_m_linear(const linear_job *j, size_t n0, size_t n1) {
    size_t elem = j->w->dtype == NT5_DTYPE_BF16 ? 2 : 4;
    for (size_t m0 = 0; m0 < j->M; m0 += 4) {
        const float *x[4];
        for (size_t i = 0; i < 4; i++) x[i] = j->in + (m0 + i < j->M ? m0 + i : m0) * j->ld_in;
        for (size_t n = n0; n < n1; n++) {
            float r[4];
            const void *row = (const char *)j->w->data + n * j->K * elem;
            if (j->w->dtype == NT5_DTYPE_BF16) dot4_bf16(row, x, j->K, r);
            else dot4_f32(row, x, j->K, r);
            for (size_t i = 0; i < 4 && m0 + i < j->M; i++) {
                float *o = j->out + (m0 + i) * j->ld_out + n;
                *o = j->accumulate ? *o + r[i] : r[i];
            }
        }
    }
}

#define SMALL_M 8
#define TILE_ROWS 128

/* out[:, n0:n1] through BLAS; bf16 weights are widened TILE_ROWS rows at a
 * time into this thread's tile (cheap next to the M-row product). */
static void blas_linear(const linear_job *j, size_t n0, size_t n1, size_t slot) {
    float beta = j->accumulate ? 1.0f : 0.0f;
    if (j->w->dtype == NT5_DTYPE_F32) {
        const float *w = j->w->data;
        if (j->M == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(n1 - n0), (int)j->K, 1.0f, w + n0 * j->K, (int)j->K, j->in,
                        1, beta, j->out + n0, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)(n1 - n0), (int)j->K, 1.0f, j->in,
                        (int)j->ld_in, w + n0 * j->K, (int)j->K, beta, j->out + n0, (int)j->ld_out);
        return;
    }
    float *tile = j->tiles + slot * TILE_ROWS * j->K;
    const uint16_t *w = j->w->data;
    for (size_t t0 = n0; t0 < n1; t0 += TILE_ROWS) {
        size_t rows = n1 - t0 < TILE_ROWS ? n1 - t0 : TILE_ROWS;
        half_to_f32(tile, w + t0 * j->K, rows * j->K, NT5_DTYPE_BF16);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)rows, (int)j->K, 1.0f, j->in,
                    (int)j->ld_in, tile, (int)j->K, beta, j->out + t0, (int)j->ld_out);
    }
}

/* Each piece computes a block of output columns (rows of w). */
static void linear_task(void *ctx, size_t piece, size_t slot) {
    linear_job *j = ctx;
    size_t n0, n1;
    piece_range(j->N, j->pieces, piece, 16, &n0, &n1);
    if (n0 >= n1) return;
    if (j->M == 1 && j->w->dtype == NT5_DTYPE_BF16) bf16_vector_linear(j, n0, n1);
    else if (j->M > 1 && j->M <= SMALL_M) small_m_linear(j, n0, n1);
    else blas_linear(j, n0, n1, slot);
}

void cpu_linear(exec_ctx *x, float *out, size_t ld_out, const float *in, size_t ld_in, const wmat *w, size_t M,
                size_t N, size_t K, int accumulate) {
    if (x->status != NT5_OK || M == 0) return;
    linear_job j = {out, in, w, ld_out, ld_in, M, N, K, split_count(x, N, 64), accumulate, NULL, NULL};
    if (w->dtype == NT5_DTYPE_BF16 && M > SMALL_M)
        j.tiles = malloc((size_t)pool_threads(cpu_pool_of(x)) * TILE_ROWS * K * sizeof(float));
    if (w->dtype == NT5_DTYPE_BF16 && M == 1 && (j.xs = malloc(K * sizeof(float)))) deinterleave16(j.xs, in, K);
    if (w->dtype == NT5_DTYPE_BF16 && !(M > SMALL_M ? j.tiles != NULL : M != 1 || j.xs != NULL)) {
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in a matrix product");
        return;
    }
    pool_run(cpu_pool_of(x), j.pieces, linear_task, &j);
    free(j.tiles);
    free(j.xs);
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
