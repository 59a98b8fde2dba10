/* IEEE binary16 and bfloat16 conversions (round to nearest even). */
#ifndef NT5_IMPL_HALF_H
#define NT5_IMPL_HALF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* inline: the Q8_0 kernels convert a scale per 32 weights */
static inline float half_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, u;
    float f;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24 */
        f = (float)mant * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    u = sign | (exp == 0x1f ? 0x7f800000u : (exp + 112u) << 23) | (mant << 13);
    memcpy(&f, &u, sizeof f);
    return f;
}
uint16_t half_f32_to_f16(float f);
float half_bf16_to_f32(uint16_t h);
uint16_t half_f32_to_bf16(float f);

/* Converts n little-endian values of `dtype` (NT5_DTYPE_*) to float. */
void half_to_f32(float *dst, const void *src, size_t n, int dtype);
/* Converts n floats to `dtype` (NT5_DTYPE_*). */
void half_from_f32(void *dst, const float *src, size_t n, int dtype);

/* half_to_f32, then times 2^exp: an f16 matrix's values from its stored
 * ones (stored = value * 2^-exp; exp 0: plain). */
void half_to_f32_scaled(float *dst, const void *src, size_t n, int dtype, int32_t exp);
/* src times 2^-exp (in place), then half_from_f32 into dst (which may be src). */
void half_from_f32_scaled(void *dst, float *src, size_t n, int dtype, int32_t exp);

/* The power-of-two exponent e of an f16 matrix: its largest |value| / 2^e
 * lies in (2^14, 2^15], well inside f16's range with the most room below
 * for small values (non-finite values are not counted). */
int32_t f16_exponent(const float *v, size_t n);

#endif
