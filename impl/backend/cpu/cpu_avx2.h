/* What the AVX2 kernels share: their target attributes and the sum of a
 * vector's lanes. Only code run after cpu_has_avx2_fma_f16c() may call them. */
#ifndef NT5_IMPL_CPU_AVX2_H
#define NT5_IMPL_CPU_AVX2_H

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/* the 8 lanes summed pairwise, in the same order everywhere */
AVX2_INLINE float hsum8(__m256 v) {
    float a[8];
    _mm256_storeu_ps(a, v);
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

#endif
