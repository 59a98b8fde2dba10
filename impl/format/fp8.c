#include "format/fp8.h"

#include <math.h>

#include "base/error.h"

float fp8_value(fp8_kind kind, uint8_t bits) {
    int mant_bits = kind == FP8_E4M3FN ? 3 : 2, bias = kind == FP8_E4M3FN ? 7 : 15;
    int exp_max = (1 << (7 - mant_bits)) - 1;
    int exponent = (bits & 0x7f) >> mant_bits, mantissa = bits & ((1 << mant_bits) - 1);
    float sign = bits & 0x80 ? -1.0f : 1.0f;
    if (kind == FP8_E4M3FN && exponent == exp_max && mantissa == (1 << mant_bits) - 1) return NAN;
    if (kind == FP8_E5M2 && exponent == exp_max) return mantissa ? NAN : sign * INFINITY;
    if (exponent == 0) return sign * ldexpf((float)mantissa, 1 - bias - mant_bits); /* subnormal */
    return sign * ldexpf((float)((1 << mant_bits) | mantissa), exponent - bias - mant_bits);
}

nt5_status fp8_to_f32(fp8_kind kind, const uint8_t *src, size_t n, const char *name, float *dst) {
    float table[256];
    for (int b = 0; b < 256; b++) table[b] = fp8_value(kind, (uint8_t)b);
    for (size_t i = 0; i < n; i++) {
        dst[i] = table[src[i]];
        if (!isfinite(dst[i]))
            return err_set(NT5_ERR_FORMAT,
                           "tensor \"%s\" holds the %s encoding 0x%02x at element %zu: the file is damaged", name,
                           kind == FP8_E4M3FN ? "float8_e4m3fn NaN" : "float8_e5m2 NaN or infinity", (unsigned)src[i],
                           i);
    }
    return NT5_OK;
}
