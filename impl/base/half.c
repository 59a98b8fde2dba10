#include "base/half.h"

#include <math.h>
#include <string.h>

#include "nt5.h"

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t half_f32_to_f16(float f) {
    uint32_t u = bits_of(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to inf */
    if (abs < 0x38800000u) {
        /* result is subnormal or zero: value / 2^-24, rounded to nearest even */
        float v = float_of(abs) * 16777216.0f;
        uint32_t m = (uint32_t)v;
        float rest = v - (float)m;
        if (rest > 0.5f || (rest == 0.5f && (m & 1u))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

float half_bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t half_f32_to_bf16(float f) {
    uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet nan */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void half_to_f32(float *dst, const void *src, size_t n, int dtype) {
    const uint8_t *p = src;
    if (dtype == NT5_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        dst[i] = dtype == NT5_DTYPE_F16 ? half_f16_to_f32(h) : half_bf16_to_f32(h);
    }
}

void half_from_f32(void *dst, const float *src, size_t n, int dtype) {
    if (dtype == NT5_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    uint16_t *out = dst;
    for (size_t i = 0; i < n; i++) out[i] = dtype == NT5_DTYPE_F16 ? half_f32_to_f16(src[i]) : half_f32_to_bf16(src[i]);
}

int32_t f16_exponent(const float *v, size_t n) {
    float top = 0;
    for (size_t i = 0; i < n; i++) top = fmaxf(top, fabsf(v[i]));
    int e = 0;
    if (top > 0 && isfinite(top)) frexpf(top, &e); /* top = frac * 2^e, frac in [0.5, 1) */
    return e - 15;
}

void half_to_f32_scaled(float *dst, const void *src, size_t n, int dtype, int32_t exp) {
    half_to_f32(dst, src, n, dtype);
    for (size_t i = 0; exp && i < n; i++) dst[i] = ldexpf(dst[i], exp);
}

void half_from_f32_scaled(void *dst, float *src, size_t n, int dtype, int32_t exp) {
    for (size_t i = 0; exp && i < n; i++) src[i] = ldexpf(src[i], -exp);
    half_from_f32(dst, src, n, dtype);
}
