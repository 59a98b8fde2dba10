/* Q8_0, ggml's 8-bit weight blocks: 32 values in 34 bytes, an f16 scale d
 * and 32 int8 q; a value is d * q. The layout GGUF files store, so a Q8_0
 * file's blocks are used as they are. */
#ifndef NT5_IMPL_QUANT_Q8_0_H
#define NT5_IMPL_QUANT_Q8_0_H

#include <stddef.h>
#include <stdint.h>

#include "base/half.h"

#define Q8_0_VALUES 32
#define Q8_0_BYTES 34

/* Bytes of n values (n a multiple of Q8_0_VALUES). */
size_t q8_0_bytes(size_t n);
/* Quantizes x[n] (finite; n a multiple of Q8_0_VALUES) into blocks exactly
 * as ggml's reference quantize_row_q8_0_ref does: d = max |x| / 127 rounded
 * to f16, q = roundf(x * (1 / d)) with the unrounded d. blocks may be x
 * itself (it is written behind what is read). */
void q8_0_quantize(const float *x, size_t n, void *blocks);
/* y[n] = d * q of each block. */
void q8_0_dequantize(const void *blocks, size_t n, float *y);
/* The scale of a block as a float. */
static inline float q8_0_scale(const uint8_t *block) { return half_f16_to_f32((uint16_t)(block[0] | block[1] << 8)); }

#endif
