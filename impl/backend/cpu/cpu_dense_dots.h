/* Products with dense weights (NT5_DTYPE_F32, _F16 or _BF16) on the CPU:
 * dot products of a few float rows against weight rows (decoding), and
 * 16-bit weight rows widened to floats (tiles for sgemm). AVX2 + FMA +
 * F16C where the CPU has them, plain C elsewhere, chosen at run time. The
 * values are the stored ones: an f16 matrix's scale (2^weight_exp) is the
 * caller's. */
#ifndef NT5_IMPL_CPU_DENSE_DOTS_H
#define NT5_IMPL_CPU_DENSE_DOTS_H

#include <stddef.h>
#include <stdint.h>

/* out[nx, nw] = x rows . w rows: nw weight rows of `dtype`, row_bytes
 * apart, against nx (1..4) rows of K floats. */
void dense_dots(int32_t dtype, const void *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx, size_t K,
                float *out);
/* dense_dots in plain C, what CPUs without AVX2 + FMA + F16C run (the tests run it everywhere) */
void dense_dots_portable(int32_t dtype, const void *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx,
                         size_t K, float *out);
/* y[n] = n 16-bit weights of `dtype` (F16 or BF16) as floats (exact) */
void dense_widen(int32_t dtype, const uint16_t *w, size_t n, float *y);

#endif
