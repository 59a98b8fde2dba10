/* The CPU backend's matrix product: BLAS for many rows, own kernels for the
 * few-row products of decoding (cpu_dense_dots.c, cpu_block_dots.c), whose
 * 16-bit and block weights are widened to floats, a tile at a time, for BLAS. */
#include "backend/cpu/cpu_linear.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/cpu_blas.h"
#include "backend/cpu/cpu_block_dots.h"
#include "backend/cpu/cpu_dense_dots.h"
#include "backend/cpu/cpu_internal.h"
#include "backend/cpu/cpu_parallel.h"
#include "base/error.h"
#include "base/fast_math.h"

typedef struct linear_job {
    float *out;
    const float *in;
    const wmat *w;
    const block_type *bt; /* w's blocks, or NULL */
    size_t ld_out, ld_in, M, N, K, row_bytes;
    size_t pieces;  /* of N: one a thread for BLAS, else shrinking ones (cpu_shrinking_count) */
    size_t threads; /* the call's */
    size_t least;   /* the fewest weight rows a shrinking piece has */
    int accumulate;
    int blas_only;    /* batch invariance: sgemm for any M (the other kernels sum in other orders) */
    float scale;      /* 2^weight_exp: what w's stored values are multiplied by (f16), else 1 */
    size_t tile_rows; /* weight rows widened at a time for BLAS (tile_rows_for) */
    float *tiles;     /* [threads, tile_rows * K]: 16-bit or block weights widened for BLAS */
} linear_job;

/* r[nx, nw] = x rows . the nw weight rows from row n on, as stored (nx 1..4) */
static void dots(const linear_job *j, size_t n, size_t nw, const float *const *x, size_t nx, float *r) {
    const void *row = (const char *)j->w->data + n * j->row_bytes;
    if (j->bt) block_dots(j->bt, row, j->row_bytes, nw, x, nx, j->K, r);
    else dense_dots(j->w->dtype, row, j->row_bytes, nw, x, nx, j->K, r);
}

/* *o = r (or *o + r when accumulating), r scaled to the weights' values */
static void put(const linear_job *j, float *o, float r) { *o = j->accumulate ? *o + r * j->scale : r * j->scale; }

#define VECTOR_CHUNK 64

/* out[0, n0:n1] = x . w rows (one input row: decoding a token), VECTOR_CHUNK rows a call */
static void vector_linear(const linear_job *j, size_t n0, size_t n1) {
    for (size_t n = n0; n < n1; n += VECTOR_CHUNK) {
        size_t nw = n + VECTOR_CHUNK <= n1 ? VECTOR_CHUNK : n1 - n;
        float r[VECTOR_CHUNK];
        dots(j, n, nw, &j->in, 1, r);
        for (size_t i = 0; i < nw; i++) put(j, j->out + n + i, r[i]);
    }
}

/* out[M, n0:n1] for M <= SMALL_M, four input rows at a time, each weight
 * row read once per group */
static void small_m_linear(const linear_job *j, size_t n0, size_t n1) {
    for (size_t m0 = 0; m0 < j->M; m0 += 4) {
        const float *x[4];
        for (size_t i = 0; i < 4; i++) x[i] = j->in + (m0 + i < j->M ? m0 + i : m0) * j->ld_in;
        for (size_t n = n0; n < n1; n++) {
            float r[4];
            dots(j, n, 1, x, 4, r);
            for (size_t i = 0; i < 4 && m0 + i < j->M; i++) put(j, j->out + (m0 + i) * j->ld_out + n, r[i]);
        }
    }
}

#define SMALL_M 8
/* Weight rows a thread widens for one sgemm call: as many as TILE_FLOATS
 * floats hold, at least MIN_TILE_ROWS. sgemm packs the whole input again
 * at every call, so small tiles cost that packing many times over. */
#define TILE_FLOATS ((size_t)1 << 20)
#define MIN_TILE_ROWS 128

static size_t tile_rows_for(size_t K) { return TILE_FLOATS / K > MIN_TILE_ROWS ? TILE_FLOATS / K : MIN_TILE_ROWS; }

/* out[:, n0:n1] through BLAS; 16-bit and block weights are widened
 * tile_rows at a time into this thread's tile (cheap next to the M-row
 * product). */
static void blas_linear_inside(const linear_job *j, size_t n0, size_t n1, size_t slot) {
    float beta = j->accumulate ? 1.0f : 0.0f;
    if (j->w->dtype == NT5_DTYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)(n1 - n0), (int)j->K, 1.0f, j->in,
                    (int)j->ld_in, (const float *)j->w->data + n0 * j->K, (int)j->K, beta, j->out + n0, (int)j->ld_out);
        return;
    }
    float *tile = j->tiles + slot * j->tile_rows * j->K;
    for (size_t t0 = n0; t0 < n1; t0 += j->tile_rows) {
        size_t rows = n1 - t0 < j->tile_rows ? n1 - t0 : j->tile_rows;
        const void *w = (const char *)j->w->data + t0 * j->row_bytes;
        if (j->bt) block_widen(j->bt, w, rows * j->K, tile);
        else dense_widen(j->w->dtype, w, rows * j->K, tile);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->M, (int)rows, (int)j->K, j->scale, j->in,
                    (int)j->ld_in, tile, (int)j->K, beta, j->out + t0, (int)j->ld_out);
    }
}

static void blas_linear(const linear_job *j, size_t n0, size_t n1, size_t slot) {
    cpu_blas_enter();
    blas_linear_inside(j, n0, n1, slot);
    cpu_blas_leave();
}

/* BLAS takes many rows, and any number under batch invariance */
static int uses_blas(const linear_job *j) { return j->blas_only || j->M > SMALL_M; }

/* The shortest piece of a few-row product: as many weight rows as hold
 * this many bytes, a few microseconds of streaming. */
#define LEAST_PIECE_BYTES 16384

/* Each piece computes a block of output columns (rows of w). */
static void linear_task(void *ctx, size_t piece, size_t slot) {
    linear_job *j = ctx;
    size_t n0, n1;
    if (uses_blas(j)) {
        cpu_piece_range(j->N, j->pieces, piece, 16, &n0, &n1);
        if (n0 < n1) blas_linear(j, n0, n1, slot);
        return;
    }
    cpu_shrinking_range(j->N, j->threads, j->least, 4, piece, &n0, &n1);
    if (j->M == 1) vector_linear(j, n0, n1);
    else small_m_linear(j, n0, n1);
}

void cpu_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in, const wmat *w,
                size_t M, size_t N, size_t K, int accumulate) {
    if (M == 0 || !cpu_is_f32(x, in_dtype, "matrix product")) return;
    linear_job j = {.out = out,
                    .in = in,
                    .w = w,
                    .bt = block_type_of(w->dtype),
                    .ld_out = ld_out,
                    .ld_in = ld_in,
                    .M = M,
                    .N = N,
                    .K = K,
                    .row_bytes = cpu_row_bytes(w->dtype, K),
                    .threads = cpu_threads(x),
                    .accumulate = accumulate,
                    .blas_only = x->batch_invariant,
                    .scale = ldexpf(1.0f, w->weight_exp)};
    if (uses_blas(&j)) {
        j.pieces = cpu_split_count(x, N, 64);
    } else {
        j.least = (LEAST_PIECE_BYTES + j.row_bytes - 1) / j.row_bytes;
        j.pieces = cpu_shrinking_count(N, j.threads, j.least, 4);
    }
    if (w->dtype != NT5_DTYPE_F32 && uses_blas(&j)) {
        j.tile_rows = tile_rows_for(K);
        j.tiles = malloc(j.threads * j.tile_rows * K * sizeof(float));
        if (!j.tiles) {
            x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory in a matrix product");
            return;
        }
    }
    cpu_run(x, j.pieces, linear_task, &j);
    free(j.tiles);
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
