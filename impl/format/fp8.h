/* The two 8-bit float formats of safetensors (F8_E4M3 and F8_E5M2), as
 * PyTorch's float8_e4m3fn and float8_e5m2 define them:
 *   e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinities,
 *           S.1111.111 is NaN; largest 448;
 *   e5m2:   sign, 5 exponent bits (bias 15), 2 mantissa bits; IEEE-style
 *           infinities and NaNs; largest 57344.
 * Every value is exact in f32. */
#ifndef NT5_IMPL_FP8_H
#define NT5_IMPL_FP8_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

typedef enum fp8_kind { FP8_E4M3FN, FP8_E5M2 } fp8_kind;

float fp8_value(fp8_kind kind, uint8_t bits);
/* src [n] as floats into dst; a NaN or infinity encoding is an error naming
 * `name` and the element (converters never write one: the file is damaged). */
nt5_status fp8_to_f32(fp8_kind kind, const uint8_t *src, size_t n, const char *name, float *dst);

#endif
