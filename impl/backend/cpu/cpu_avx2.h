/* What the AVX2 kernels share: their target attributes, the sum of a
 * vector's lanes, and running a product's weight rows through a type's
 * row kernels. Only code run after cpu_has_avx2_fma_f16c() may call them. */
#ifndef NT5_IMPL_CPU_AVX2_H
#define NT5_IMPL_CPU_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/* the 8 lanes summed pairwise, in the same order everywhere */
AVX2_INLINE float hsum8(__m256 v) {
    float a[8];
    _mm256_storeu_ps(a, v);
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* hsum8 of four vectors at once, each summed in hsum8's order (bit for bit) */
AVX2_INLINE void hsum8_x4(__m256 v0, __m256 v1, __m256 v2, __m256 v3, float out[4]) {
    /* per 128-bit half: pairs, then pairs of pairs; then the halves */
    __m256 quads = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(quads), _mm256_extractf128_ps(quads, 1)));
}

/* the 8 partial sums of one input of K floats . one weight row */
typedef __m256 (*row_sum_fn)(const void *row, const float *x, size_t K);

/* out[nw] = x . nw weight rows row_bytes apart, one row after the other (as
 * memory streams best), summed four rows at a time; row_sum is inlined,
 * so there is no call per row */
AVX2_INLINE void rows_of_one(row_sum_fn row_sum, const void *w, size_t row_bytes, size_t nw, const float *x, size_t K,
                             float *out) {
    const char *p = w;
    size_t r = 0;
    for (; r + 4 <= nw; r += 4, p += 4 * row_bytes) {
        __m256 v0 = row_sum(p, x, K); /* in row order: each its own statement */
        __m256 v1 = row_sum(p + row_bytes, x, K);
        __m256 v2 = row_sum(p + 2 * row_bytes, x, K);
        __m256 v3 = row_sum(p + 3 * row_bytes, x, K);
        hsum8_x4(v0, v1, v2, v3, out + r);
    }
    for (; r < nw; r++, p += row_bytes) out[r] = hsum8(row_sum(p, x, K));
}

/* the most input rows a row kernel takes */
#define MAX_INPUT_ROWS 4

/* out[nx] = nx input rows of K floats . one weight row */
typedef void (*row_kernel)(const void *w, const float *const *x, size_t K, float *out);
/* out[nw] = one input row of K floats . nw weight rows row_bytes apart */
typedef void (*rows_kernel)(const void *w, size_t row_bytes, size_t nw, const float *x, size_t K, float *out);

/* a weight type's kernels: one row by four inputs, many rows by one */
typedef struct row_kernels {
    int32_t dtype;
    row_kernel k1x4;
    rows_kernel rows_by_1;
} row_kernels;

/* out[nx, nw] = x rows (1..4) . nw weight rows row_bytes apart, with the
 * kernels of `dtype` in table (which has them) */
static inline void rows_through_kernels(const row_kernels *table, int32_t dtype, const void *w, size_t row_bytes,
                                        size_t nw, const float *const *x, size_t nx, size_t K, float *out) {
    while (table->dtype != dtype) table++;
    if (nx != 4) {
        for (size_t i = 0; i < nx; i++) table->rows_by_1(w, row_bytes, nw, x[i], K, out + i * nw);
        return;
    }
    for (size_t r = 0; r < nw; r++) {
        float row_out[MAX_INPUT_ROWS];
        table->k1x4((const char *)w + r * row_bytes, x, K, row_out);
        for (size_t i = 0; i < nx; i++) out[i * nw + r] = row_out[i];
    }
}

#endif
