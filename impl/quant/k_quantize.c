/* ggml's reference k-quant quantizers, rewritten from their description so
 * that they give the same blocks: the same search for each sub-block's
 * scale (and min), the same float operations in the same order (the
 * library is built without contraction into fma), and ggml's rounding:
 * nearest integer, ties to even, and f16 scales rounded to nearest even. */
#include <math.h>
#include <string.h>

#include "base/half.h"
#include "quant/k_quants.h"

/* below this a group is all zero (ggml's GROUP_MAX_EPS) */
#define GROUP_MAX_EPS 1e-15f

/* ggml's nearest_int: the nearest integer, ties to even (|v| < 2^22) */
static int nearest(float v) { return (int)lrintf(v); }

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void put_f16(uint8_t *p, float v) {
    uint16_t h = half_f32_to_f16(v);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

static float f16_at(const uint8_t *p) { return half_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* The weighted squared error of levels L[n] under scale and min. */
static float level_error(int n, const float *x, const float *weights, const uint8_t *L, float scale, float min) {
    float error = 0;
    for (int i = 0; i < n; i++) {
        float diff = scale * (float)L[i] + min - x[i];
        error += weights[i] * (diff * diff);
    }
    return error;
}

/* Levels L[n] in 0..nmax and a scale and min (x ~ scale * L - *neg_min)
 * for one sub-block, as ggml's make_qkx2_quants (squared error): start from
 * the plain range, then try nstep + 1 stretched level counts and keep the
 * least-squares fit with the least weighted error. */
static float fit_scale_min(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *neg_min,
                           float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *neg_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min), scale = 1 / iscale;
    for (int i = 0; i < n; i++) L[i] = (uint8_t)clamp_int(nearest(iscale * (x[i] - min)), 0, nmax);
    float best_error = level_error(n, x, weights, L, scale, min);
    uint8_t trial[32];
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(nearest(iscale * (x[i] - min)), 0, nmax);
            trial[i] = (uint8_t)l;
            sum_l += weights[i] * (float)l;
            sum_l2 += weights[i] * (float)l * (float)l;
            sum_xl += weights[i] * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D, this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float error = level_error(n, x, weights, trial, this_scale, this_min);
        if (error < best_error) {
            memcpy(L, trial, (size_t)n);
            best_error = error;
            scale = this_scale;
            min = this_min;
        }
    }
    *neg_min = -min;
    return scale;
}

/* One Q4_K (nmax 15) or Q5_K (nmax 31) block of x[256]: d, dmin and the 12
 * packed scale bytes written at b, the levels in L[256]. */
static void k4_k5_scales(const float *x, int nmax, float rmin, int nstep, uint8_t *b, uint8_t *L) {
    float scales[8], mins[8], weights[32], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xs[l]);
        scales[j] = fit_scale_min(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f, inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t *packed = b + 4;
    for (int j = 0; j < 8; j++) {
        /* ggml keeps these in a uint8_t before taking the least with 63 */
        uint8_t ls = (uint8_t)nearest(inv_scale * scales[j]), lm = (uint8_t)nearest(inv_min * mins[j]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    put_f16(b, max_scale / 63.f);
    put_f16(b + 2, max_min / 63.f);
    for (int j = 0; j < 8; j++) {
        int sc, mn;
        k4_scale_min(packed, j, &sc, &mn);
        const float d = f16_at(b) * (float)sc;
        if (d == 0) continue;
        const float dm = f16_at(b + 2) * (float)mn;
        for (int l = 0; l < 32; l++) L[32 * j + l] = (uint8_t)clamp_int(nearest((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

void q4_k_quantize(const float *x, size_t n, void *blocks) {
    uint8_t *b = blocks;
    for (size_t i = 0; i < n / K_VALUES; i++, b += Q4_K_BYTES) {
        float v[K_VALUES];
        uint8_t L[K_VALUES];
        memcpy(v, x + i * K_VALUES, sizeof v); /* before the block behind it is overwritten */
        k4_k5_scales(v, 15, -1.f, 20, b, L);
        for (int j = 0; j < K_VALUES; j += 64)
            for (int l = 0; l < 32; l++) b[16 + j / 2 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
    }
}

void q5_k_quantize(const float *x, size_t n, void *blocks) {
    uint8_t *b = blocks;
    for (size_t i = 0; i < n / K_VALUES; i++, b += Q5_K_BYTES) {
        float v[K_VALUES];
        uint8_t L[K_VALUES];
        memcpy(v, x + i * K_VALUES, sizeof v);
        k4_k5_scales(v, 31, -0.5f, 15, b, L);
        uint8_t *qh = b + 16, *qs = b + 48;
        memset(qh, 0, 32);
        /* pair p (sub-blocks 2p, 2p + 1): low nibbles of the first, high of the second; bit 4 into qh bits 2p, 2p + 1 */
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++) {
                int l1 = L[64 * p + l], l2 = L[64 * p + 32 + l];
                qh[l] |= (uint8_t)((l1 >> 4) << (2 * p) | (l2 >> 4) << (2 * p + 1));
                qs[32 * p + l] = (uint8_t)((l1 & 15) | (l2 & 15) << 4);
            }
    }
}

/* The sums of a Q6_K sub-block's least-squares fit at inverse scale
 * iscale, with weights x^2; the levels (plus 32) into L unless NULL. */
static void q6_fit_sums(const float *x, float iscale, int8_t *L, float *sumlx, float *suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < 16; i++) {
        int l = clamp_int(nearest(iscale * x[i]), -32, 31);
        if (L) L[i] = (int8_t)(l + 32);
        float w = x[i] * x[i];
        *sumlx += w * x[i] * (float)l;
        *suml2 += w * (float)l * (float)l;
    }
}

/* Levels L[16] in 0..63 (stored plus 32) and a signed scale for one Q6_K
 * sub-block, as ggml's make_qx_quants with nmax 32 and weights x^2: the
 * scale that maps the value of largest magnitude to -32, then those for
 * -32 -/+ 0.1 .. 0.9, keeping the least-squares fit that explains most. */
static float fit_scale_q6(const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < 16; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, 16);
        return 0.f;
    }
    float sumlx, suml2;
    q6_fit_sums(x, -32.f / max, L, &sumlx, &suml2);
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        float iscale = -(32.f + 0.1f * (float)is) / max;
        q6_fit_sums(x, iscale, NULL, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            q6_fit_sums(x, iscale, L, &sumlx, &suml2);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void q6_k_quantize(const float *x, size_t n, void *blocks) {
    uint8_t *b = blocks;
    for (size_t i = 0; i < n / K_VALUES; i++, b += Q6_K_BYTES) {
        float v[K_VALUES], scales[16], max_scale = 0, max_abs_scale = 0;
        int8_t L[K_VALUES];
        memcpy(v, x + i * K_VALUES, sizeof v); /* before the block behind it is overwritten */
        for (int s = 0; s < 16; s++) {
            scales[s] = fit_scale_q6(v + 16 * s, L + 16 * s);
            if (fabsf(scales[s]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[s]);
                max_scale = scales[s];
            }
        }
        memset(b, 0, Q6_K_BYTES);
        if (max_abs_scale < GROUP_MAX_EPS) continue; /* all zero, d 0 */
        uint8_t *ql = b, *qh = b + 128;
        int8_t *sub = (int8_t *)(b + 192);
        float iscale = -128.f / max_scale;
        put_f16(b + 208, 1 / iscale);
        for (int s = 0; s < 16; s++) {
            int q = nearest(iscale * scales[s]);
            sub[s] = (int8_t)(q < 127 ? q : 127);
        }
        for (int s = 0; s < 16; s++) {
            float d = f16_at(b + 208) * (float)sub[s];
            if (d == 0) continue;
            for (int l = 0; l < 16; l++) L[16 * s + l] = (int8_t)(clamp_int(nearest(v[16 * s + l] / d), -32, 31) + 32);
        }
        /* half h, l < 32: ql[64h + l] holds elements 128h + l (low nibble) and + 64 (high), ql[64h + 32 + l]
         * elements + 32 and + 96; qh[32h + l] their high two bits, two bits each */
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const int8_t *e = L + 128 * h + l;
                ql[64 * h + l] = (uint8_t)((e[0] & 15) | (e[64] & 15) << 4);
                ql[64 * h + 32 + l] = (uint8_t)((e[32] & 15) | (e[96] & 15) << 4);
                qh[32 * h + l] = (uint8_t)((e[0] >> 4) | (e[32] >> 4) << 2 | (e[64] >> 4) << 4 | (e[96] >> 4) << 6);
            }
    }
}
