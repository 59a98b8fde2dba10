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

/* the most input rows a row kernel takes */
#define MAX_INPUT_ROWS 4

/* out[nx] = nx input rows of K floats . one weight row */
typedef void (*row_kernel)(const void *w, const float *const *x, size_t K, float *out);

/* a weight type's kernels: one row by four inputs, one row by one */
typedef struct row_kernels {
    int32_t dtype;
    row_kernel k1x4, k1x1;
} row_kernels;

/* out[nx, nw] = x rows (1..4) . nw weight rows row_bytes apart, with the
 * kernels of `dtype` in table (which has them) */
static inline void rows_through_kernels(const row_kernels *table, int32_t dtype, const void *w, size_t row_bytes,
                                        size_t nw, const float *const *x, size_t nx, size_t K, float *out) {
    while (table->dtype != dtype) table++;
    for (size_t r = 0; r < nw; r++) {
        const void *row = (const char *)w + r * row_bytes;
        float row_out[MAX_INPUT_ROWS];
        if (nx == 4) table->k1x4(row, x, K, row_out);
        else
            for (size_t i = 0; i < nx; i++) table->k1x1(row, x + i, K, row_out + i);
        for (size_t i = 0; i < nx; i++) out[i * nw + r] = row_out[i];
    }
}

#endif
