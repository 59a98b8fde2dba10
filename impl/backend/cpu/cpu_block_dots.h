/* Products with weights in ggml blocks (quant/block_type.h) on the CPU:
 * dot products of a few float rows against block rows (decoding), and
 * block rows widened to floats (tiles for sgemm). AVX2 + FMA where the CPU
 * has them, plain C elsewhere, chosen at run time. */
#ifndef NT5_IMPL_CPU_BLOCK_DOTS_H
#define NT5_IMPL_CPU_BLOCK_DOTS_H

#include <stddef.h>
#include <stdint.h>

#include "quant/block_type.h"

/* out[nx, nw] = x rows . w rows: nw weight rows of type bt,
 * row_bytes apart, against nx (1..4) rows of K floats (K whole blocks). */
void block_dots(const block_type *bt, const uint8_t *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx,
                size_t K, float *out);
/* block_dots in plain C, what CPUs without AVX2 + FMA run (the tests run it everywhere) */
void block_dots_portable(const block_type *bt, const uint8_t *w, size_t row_bytes, size_t nw, const float *const *x,
                         size_t nx, size_t K, float *out);
/* y[n] = the values of n weights' blocks (n whole blocks). */
void block_widen(const block_type *bt, const uint8_t *w, size_t n, float *y);

#endif
