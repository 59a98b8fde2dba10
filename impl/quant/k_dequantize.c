#include <string.h>

#include "base/half.h"
#include "quant/k_quants.h"

/* Why these match ggml's C and numpy to the bit whatever the order of
 * operations or a compiler's fma: a scale is an f16 (11 significant bits)
 * times at most a 6-bit sub-scale (Q6_K: an int8, 7 bits), and its product
 * with a quant of at most 6 bits needs at most 24 bits, all exact in float
 * (nothing nears float's range: f16's least is 2^-24); only the final
 * subtraction of a min (Q4_K, Q5_K) rounds, once. */

static float f16_at(const uint8_t *p) { return half_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* One Q4_K (qh NULL) or Q5_K block: sub-block s reads the low (s even) or
 * high nibble of qs[32 * (s/2) ..], Q5_K adds bit s of qh[l] as bit 4. */
static void k4_k5_block(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, float *y) {
    const float d = f16_at(b), dmin = f16_at(b + 2);
    for (int s = 0; s < 8; s++) {
        int sc, mn;
        k4_scale_min(b + 4, s, &sc, &mn);
        const float dl = d * (float)sc, ml = dmin * (float)mn;
        for (int l = 0; l < 32; l++) {
            int q = (qs[32 * (s / 2) + l] >> (4 * (s % 2))) & 15;
            if (qh) q |= ((qh[l] >> s) & 1) << 4;
            y[32 * s + l] = dl * (float)q - ml;
        }
    }
}

void q4_k_dequantize(const void *blocks, size_t n, float *y) {
    const uint8_t *b = blocks;
    for (size_t i = 0; i < n / K_VALUES; i++, b += Q4_K_BYTES) k4_k5_block(b, NULL, b + 16, y + i * K_VALUES);
}

void q5_k_dequantize(const void *blocks, size_t n, float *y) {
    const uint8_t *b = blocks;
    for (size_t i = 0; i < n / K_VALUES; i++, b += Q5_K_BYTES) k4_k5_block(b, b + 16, b + 48, y + i * K_VALUES);
}

/* Element e of half h = e/128, quarter j = e%128/32, l = e%32: low 4 bits
 * from nibble j/2 of ql[64h + 32(j%2) + l], high 2 bits from bits 2j of
 * qh[32h + l], stored plus 32. */
void q6_k_dequantize(const void *blocks, size_t n, float *y) {
    const uint8_t *b = blocks;
    for (size_t i = 0; i < n / K_VALUES; i++, b += Q6_K_BYTES, y += K_VALUES) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *scales = (const int8_t *)(b + 192);
        const float d = f16_at(b + 208);
        for (int e = 0; e < K_VALUES; e++) {
            int h = e / 128, j = e % 128 / 32, l = e % 32;
            int low = (ql[64 * h + 32 * (j % 2) + l] >> (4 * (j / 2))) & 15;
            int high = (qh[32 * h + l] >> (2 * j)) & 3;
            y[e] = d * (float)scales[e / 16] * (float)((low | high << 4) - 32);
        }
    }
}
