/* Dense weights against float inputs: with AVX2, 8 weights at a time are
 * floats in a register (f32 as they are, f16 through F16C's conversion,
 * bf16 by a shift: its bits are a float's top half) and are multiplied
 * into every input row, so each weight is read once whatever the number of
 * rows. A decoding step's product takes the rows one after the other, as
 * memory streams best: reading four rows side by side ran 1.4x slower. */
#include "backend/cpu/cpu_dense_dots.h"

#include "backend/cpu/cpu_avx2.h"
#include "backend/cpu/cpu_features.h"
#include "base/half.h"
#include "nt5.h"

/* how far ahead of a row's values the kernels ask for its bytes: a
 * t5-v1_1-small-wide lm_head (32128 x 512 bf16, 2 threads) took 2.0-2.3 ms
 * at 2-4 KB against 2.5-2.7 without, in interleaved runs */
#define PREFETCH_BYTES 3072

/* 8 weights from p as floats */
AVX2_INLINE __m256 load8(int32_t dtype, const void *p) {
    if (dtype == NT5_DTYPE_F32) return _mm256_loadu_ps(p);
    __m128i h = _mm_loadu_si128(p);
    if (dtype == NT5_DTYPE_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* weight k of row w as a float */
static inline float weight_at(int32_t dtype, const void *w, size_t k) {
    if (dtype == NT5_DTYPE_F32) return ((const float *)w)[k];
    uint16_t h = ((const uint16_t *)w)[k];
    return dtype == NT5_DTYPE_F16 ? half_f16_to_f32(h) : half_bf16_to_f32(h);
}

static inline size_t elem_bytes(int32_t dtype) { return dtype == NT5_DTYPE_F32 ? 4 : 2; }

/* sums[NX] = 8 partial sums of each of NX x rows . one weight row over
 * its first K rounded down to 8 values (the rest: tail()); NX is a
 * constant where this is inlined, so the sums stay in registers. Each
 * product has SPLIT sums (taking every SPLIT-th 8 values), so that its
 * additions do not wait on each other: 4 for a single product, 2 for four. */
AVX2_INLINE void dots_sums(int32_t dtype, const void *w, const float *const *x, size_t NX, size_t K, __m256 *sums) {
    const size_t SPLIT = NX == 1 ? 4 : 2, bytes = elem_bytes(dtype);
    const char *wb = w;
    __m256 acc[MAX_INPUT_ROWS][4];
    for (size_t i = 0; i < NX; i++)
        for (size_t a = 0; a < SPLIT; a++) acc[i][a] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 * SPLIT <= K; k += 8 * SPLIT) {
        for (size_t line = 0; line < SPLIT * 8 * bytes; line += 64)
            _mm_prefetch(wb + k * bytes + PREFETCH_BYTES + line, _MM_HINT_T0);
        for (size_t a = 0; a < SPLIT; a++) {
            __m256 wv = load8(dtype, wb + (k + 8 * a) * bytes);
            for (size_t i = 0; i < NX; i++)
                acc[i][a] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[i] + k + 8 * a), acc[i][a]);
        }
    }
    for (; k + 8 <= K; k += 8) {
        __m256 wv = load8(dtype, wb + k * bytes);
        for (size_t i = 0; i < NX; i++) acc[i][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[i] + k), acc[i][0]);
    }
    for (size_t i = 0; i < NX; i++) {
        sums[i] = acc[i][0];
        for (size_t a = 1; a < SPLIT; a++) sums[i] = _mm256_add_ps(sums[i], acc[i][a]);
    }
}

/* s plus x . the row's last K mod 8 values */
static inline float tail(int32_t dtype, const void *w, const float *x, size_t K, float s) {
    for (size_t t = K / 8 * 8; t < K; t++) s += weight_at(dtype, w, t) * x[t];
    return s;
}

/* the shapes of the products: one weight row by four inputs (a few rows),
 * many rows by one (decoding a token) */
#define DENSE_KERNELS(NAME, DTYPE)                                                                                     \
    AVX2 static void NAME##_1x4(const void *w, const float *const *x, size_t K, float *out) {                          \
        __m256 sums[4];                                                                                                \
        dots_sums(DTYPE, w, x, 4, K, sums);                                                                            \
        for (size_t i = 0; i < 4; i++) out[i] = tail(DTYPE, w, x[i], K, hsum8(sums[i]));                               \
    }                                                                                                                  \
    AVX2_INLINE __m256 NAME##_row_sum(const void *w, const float *x, size_t K) {                                       \
        __m256 sum;                                                                                                    \
        dots_sums(DTYPE, w, &x, 1, K, &sum);                                                                           \
        return sum;                                                                                                    \
    }                                                                                                                  \
    AVX2 static void NAME##_rows(const void *w, size_t row_bytes, size_t nw, const float *x, size_t K, float *out) {   \
        rows_of_one(NAME##_row_sum, w, row_bytes, nw, x, K, out);                                                      \
        for (size_t r = 0; K % 8 && r < nw; r++) out[r] = tail(DTYPE, (const char *)w + r * row_bytes, x, K, out[r]);  \
    }
DENSE_KERNELS(f32, NT5_DTYPE_F32)
DENSE_KERNELS(f16, NT5_DTYPE_F16)
DENSE_KERNELS(bf16, NT5_DTYPE_BF16)

static const row_kernels dense_kernels[] = {{NT5_DTYPE_F32, f32_1x4, f32_rows},
                                            {NT5_DTYPE_F16, f16_1x4, f16_rows},
                                            {NT5_DTYPE_BF16, bf16_1x4, bf16_rows}};

AVX2 static void widen_avx2(int32_t dtype, const uint16_t *w, size_t n, float *y) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(y + k, load8(dtype, w + k));
    half_to_f32(y + k, w + k, n - k, dtype);
}

void dense_dots_portable(int32_t dtype, const void *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx,
                         size_t K, float *out) {
    for (size_t i = 0; i < nx; i++)
        for (size_t r = 0; r < nw; r++) {
            const void *row = (const char *)w + r * row_bytes;
            float sum = 0;
            for (size_t k = 0; k < K; k++) sum += weight_at(dtype, row, k) * x[i][k];
            out[i * nw + r] = sum;
        }
}

void dense_dots(int32_t dtype, const void *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx, size_t K,
                float *out) {
    if (!cpu_has_avx2_fma_f16c()) dense_dots_portable(dtype, w, row_bytes, nw, x, nx, K, out);
    else rows_through_kernels(dense_kernels, dtype, w, row_bytes, nw, x, nx, K, out);
}

void dense_widen(int32_t dtype, const uint16_t *w, size_t n, float *y) {
    if (cpu_has_avx2_fma_f16c()) widen_avx2(dtype, w, n, y);
    else half_to_f32(y, w, n, dtype);
}
