/* The CPU backend's matrix product: BLAS for many rows, own kernels for the
 * few-row products of decoding and for bf16 and block weights (whose tiles
 * are widened to floats for BLAS; cpu_block_dots.c). */
#include "backend/cpu/cpu_linear.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_blas.h"
#include "backend/cpu/cpu_block_dots.h"
#include "backend/cpu/cpu_internal.h"
#include "backend/cpu/cpu_parallel.h"
#include "base/error.h"
#include "base/fast_math.h"
#include "base/half.h"

typedef struct linear_job {
    float *out;
    const float *in;
    const wmat *w;
    size_t ld_out, ld_in, M, N, K, pieces;
    int accumulate;
    int blas_only; /* batch invariance: sgemm for any M (the other kernels sum in other orders) */
    float *tiles;  /* [threads, TILE_ROWS * K]: bf16 or block weights widened for BLAS */
    float *xs;     /* [K] the input row deinterleaved (M == 1, bf16 weights) */
} linear_job;

typedef float v8f __attribute__((vector_size(32)));
typedef uint16_t v8h __attribute__((vector_size(16)));
typedef uint32_t v8u __attribute__((vector_size(32)));

/* macros, not functions: passing 32-byte vectors by value differs between
 * the SSE2 and AVX2 clones */
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define HSUM8(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7]))
/* 8 bfloat16 values at p as floats: the bf16 bits are a float's top half */
#define LOAD8_BF16(dst, p)                                                                                             \
    do {                                                                                                               \
        v8h h_;                                                                                                        \
        memcpy(&h_, (p), sizeof h_);                                                                                   \
        v8u u_ = __builtin_convertvector(h_, v8u) << 16;                                                               \
        memcpy(&(dst), &u_, sizeof(dst));                                                                              \
    } while (0)

/* Four dot products against one weight row, which is read once: the
 * decoding step's product for up to four rows (beams) is bound by reading
 * the weights, and BLAS's sgemm would first copy (pack) them. */
#define DOT4_BODY(LOAD_W, W_AT)                                                                                        \
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                                                        \
    size_t k = 0;                                                                                                      \
    for (; k + 8 <= K; k += 8) {                                                                                       \
        v8f wv, v0, v1, v2, v3;                                                                                        \
        LOAD_W(wv, w + k);                                                                                             \
        LOAD8(v0, x[0] + k);                                                                                           \
        LOAD8(v1, x[1] + k);                                                                                           \
        LOAD8(v2, x[2] + k);                                                                                           \
        LOAD8(v3, x[3] + k);                                                                                           \
        a0 += v0 * wv;                                                                                                 \
        a1 += v1 * wv;                                                                                                 \
        a2 += v2 * wv;                                                                                                 \
        a3 += v3 * wv;                                                                                                 \
    }                                                                                                                  \
    float r0 = HSUM8(a0), r1 = HSUM8(a1), r2 = HSUM8(a2), r3 = HSUM8(a3);                                              \
    for (; k < K; k++) {                                                                                               \
        float wk = W_AT(w, k);                                                                                         \
        r0 += x[0][k] * wk;                                                                                            \
        r1 += x[1][k] * wk;                                                                                            \
        r2 += x[2][k] * wk;                                                                                            \
        r3 += x[3][k] * wk;                                                                                            \
    }                                                                                                                  \
    out[0] = r0;                                                                                                       \
    out[1] = r1;                                                                                                       \
    out[2] = r2;                                                                                                       \
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

/* out[0, n0:n1] = x . w rows for block weights, four rows at a time */
static void block_vector_linear(const linear_job *j, const block_type *bt, size_t n0, size_t n1) {
    const uint8_t *w = j->w->data;
    size_t row_bytes = block_type_row_bytes(bt, j->K);
    for (size_t n = n0; n < n1; n += 4) {
        float r[4];
        block_dots(bt, w + n * row_bytes, row_bytes, n + 4 <= n1 ? 4 : n1 - n, &j->in, 1, j->K, r);
        for (size_t i = 0; i < 4 && n + i < n1; i++) j->out[n + i] = j->accumulate ? j->out[n + i] + r[i] : r[i];
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
    const block_type *bt = block_type_of(j->w->dtype);
    size_t row_bytes = bt ? block_type_row_bytes(bt, j->K) : j->K * (j->w->dtype == NT5_DTYPE_BF16 ? 2 : 4);
    for (size_t m0 = 0; m0 < j->M; m0 += 4) {
        const float *x[4];
        for (size_t i = 0; i < 4; i++) x[i] = j->in + (m0 + i < j->M ? m0 + i : m0) * j->ld_in;
        for (size_t n = n0; n < n1; n++) {
            float r[4];
            const void *row = (const char *)j->w->data + n * row_bytes;
            if (bt) block_dots(bt, row, 0, 1, x, 4, j->K, r);
            else if (j->w->dtype == NT5_DTYPE_BF16) dot4_bf16(row, x, j->K, r);
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
static void blas_linear_inside(const linear_job *j, size_t n0, size_t n1, size_t slot) {
    float beta = j->accumulate ? 1.0f : 0.0f;
    if (j->w->dtype == NT5_DTYPE_F32) {
        const float *w = j->w->data;
        if (j->M == 1 && !j->blas_only)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(n1 - n0), (int)j->K, 1.0f, w + n0 * j->K, (int)j->K, j->in,
                        1, beta, j->out + n0, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)(n1 - n0), (int)j->K, 1.0f, j->in,
                        (int)j->ld_in, w + n0 * j->K, (int)j->K, beta, j->out + n0, (int)j->ld_out);
        return;
    }
    float *tile = j->tiles + slot * TILE_ROWS * j->K;
    for (size_t t0 = n0; t0 < n1; t0 += TILE_ROWS) {
        size_t rows = n1 - t0 < TILE_ROWS ? n1 - t0 : TILE_ROWS;
        const block_type *bt = block_type_of(j->w->dtype);
        if (bt) block_widen(bt, (const uint8_t *)j->w->data + t0 * block_type_row_bytes(bt, j->K), rows * j->K, tile);
        else half_to_f32(tile, (const uint16_t *)j->w->data + t0 * j->K, rows * j->K, NT5_DTYPE_BF16);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)rows, (int)j->K, 1.0f, j->in,
                    (int)j->ld_in, tile, (int)j->K, beta, j->out + t0, (int)j->ld_out);
    }
}

static void blas_linear(const linear_job *j, size_t n0, size_t n1, size_t slot) {
    cpu_blas_enter();
    blas_linear_inside(j, n0, n1, slot);
    cpu_blas_leave();
}

/* Each piece computes a block of output columns (rows of w). */
static void linear_task(void *ctx, size_t piece, size_t slot) {
    linear_job *j = ctx;
    size_t n0, n1;
    cpu_piece_range(j->N, j->pieces, piece, 16, &n0, &n1);
    if (n0 >= n1) return;
    if (j->blas_only) blas_linear(j, n0, n1, slot);
    else if (j->M == 1 && j->w->dtype == NT5_DTYPE_BF16) bf16_vector_linear(j, n0, n1);
    else if (j->M == 1 && block_type_of(j->w->dtype)) block_vector_linear(j, block_type_of(j->w->dtype), n0, n1);
    else if (j->M > 1 && j->M <= SMALL_M) small_m_linear(j, n0, n1);
    else blas_linear(j, n0, n1, slot);
}

void cpu_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in, const wmat *w,
                size_t M, size_t N, size_t K, int accumulate) {
    if (M == 0 || !cpu_is_f32(x, in_dtype, "matrix product")) return;
    linear_job j = {out,  in,  w, ld_out, ld_in, M, N, K, cpu_split_count(x, N, 64), accumulate, x->batch_invariant,
                    NULL, NULL};
    int blocks = block_type_of(w->dtype) != NULL;
    int blas = j.blas_only || M > SMALL_M, widened = w->dtype == NT5_DTYPE_BF16 || blocks;
    if (widened && blas) j.tiles = malloc((size_t)pool_threads(cpu_pool_of(x)) * TILE_ROWS * K * sizeof(float));
    if (w->dtype == NT5_DTYPE_BF16 && !blas && M == 1 && (j.xs = malloc(K * sizeof(float))))
        deinterleave16(j.xs, in, K);
    if ((w->dtype == NT5_DTYPE_BF16 && !(blas ? j.tiles != NULL : M != 1 || j.xs != NULL)) ||
        (blocks && blas && !j.tiles)) {
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in a matrix product");
        return;
    }
    pool_run(cpu_pool_of(x), j.pieces, linear_task, &j);
    free(j.tiles);
    free(j.xs);
}

typedef struct relu_args {
    float *out; /* [M, N] */
    size_t N;
    float scale;
} relu_args;

/* the product, then ReLU and the scale in place, row by row */
static void relu_row(const void *ctx, size_t r) {
    const relu_args *a = ctx;
    float *y = a->out + r * a->N;
    for (size_t i = 0; i < a->N; i++) y[i] = relu(y[i]) * a->scale;
}

void cpu_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                     size_t ld_in, const wmat *w, size_t M, size_t N, size_t K) {
    if (!cpu_is_f32(x, out_dtype, "matrix product")) return;
    cpu_linear(x, out, N, in, in_dtype, ld_in, w, M, N, K, 0);
    relu_args a = {out, N, out_scale};
    if (x->status == NT5_OK) cpu_for_rows(x, M, 8, relu_row, &a);
}
