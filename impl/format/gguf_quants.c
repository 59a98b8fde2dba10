#include "format/gguf_quants.h"

#include "base/error.h"
#include "base/half.h"
#include "quant/k_quants.h"
#include "quant/q8_0.h"

/* One block of a quantized type into its block_size floats. */
typedef void (*block_fn)(const uint8_t *block, float *out);

static float f16_at(const uint8_t *p) { return half_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* These match ggml's C and numpy to the bit for the reason
 * quant/k_dequantize.c gives (every scale's product with a quant is exact
 * in float); only the final addition of a min (Q4_1, Q5_1, Q2_K) rounds, once. */

/* The 4-bit quants of Q4_0/Q4_1, q[32] in 0..15: element j < 16 is the low
 * nibble of qs[j], element j + 16 its high nibble. */
static void unpack_q4(const uint8_t *qs, int *q) {
    for (int j = 0; j < 16; j++) {
        q[j] = qs[j] & 15;
        q[j + 16] = qs[j] >> 4;
    }
}

/* The 5-bit quants of Q5_0/Q5_1, q[32] in 0..31: the 4-bit ones, with bit j
 * of the little-endian 32-bit qh as bit 4 of element j. */
static void unpack_q5(const uint8_t *qh, const uint8_t *qs, int *q) {
    uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
    unpack_q4(qs, q);
    for (int j = 0; j < 32; j++) q[j] |= (int)((h >> j) & 1) << 4;
}

/* Q4_0 [18 bytes]: d (f16), qs[16]; x = d * (q - 8). */
static void dq_q4_0(const uint8_t *b, float *y) {
    const float d = f16_at(b);
    int q[32];
    unpack_q4(b + 2, q);
    for (int j = 0; j < 32; j++) y[j] = d * (float)(q[j] - 8);
}

/* Q4_1 [20 bytes]: d, m (f16), qs[16]; x = d * q + m. */
static void dq_q4_1(const uint8_t *b, float *y) {
    const float d = f16_at(b), m = f16_at(b + 2);
    int q[32];
    unpack_q4(b + 4, q);
    for (int j = 0; j < 32; j++) y[j] = d * (float)q[j] + m;
}

/* Q5_0 [22 bytes]: d (f16), qh[4], qs[16]; x = d * (q - 16). */
static void dq_q5_0(const uint8_t *b, float *y) {
    const float d = f16_at(b);
    int q[32];
    unpack_q5(b + 2, b + 6, q);
    for (int j = 0; j < 32; j++) y[j] = d * (float)(q[j] - 16);
}

/* Q5_1 [24 bytes]: d, m (f16), qh[4], qs[16]; x = d * q + m. */
static void dq_q5_1(const uint8_t *b, float *y) {
    const float d = f16_at(b), m = f16_at(b + 2);
    int q[32];
    unpack_q5(b + 4, b + 8, q);
    for (int j = 0; j < 32; j++) y[j] = d * (float)q[j] + m;
}

/* Q8_0 [34 bytes]: d (f16), qs[32] (int8); x = d * q (quant/q8_0.h). */
static void dq_q8_0(const uint8_t *b, float *y) { q8_0_dequantize(b, Q8_0_VALUES, y); }

/* The 2-bit field of element e (0..255) in the qs[64] of Q2_K/Q3_K: each
 * 128-element half reads 32 bytes, its four 32-element quarters the bit
 * pairs 0-1, 2-3, 4-5, 6-7 of them. */
static int low2_at(const uint8_t *qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3; }

/* Q2_K [84 bytes]: scales[16] (low nibble scale, high nibble min per
 * 16 elements), qs[64], d, dmin (f16); x = (d * sc) * q - dmin * mn. */
static void dq_q2_k(const uint8_t *b, float *y) {
    const uint8_t *scales = b, *qs = b + 16;
    const float d = f16_at(b + 80), dmin = f16_at(b + 82);
    for (int g = 0; g < 16; g++) {
        const float dl = d * (float)(scales[g] & 15), ml = dmin * (float)(scales[g] >> 4);
        for (int e = 16 * g; e < 16 * g + 16; e++) y[e] = dl * (float)low2_at(qs, e) - ml;
    }
}

/* Q3_K [110 bytes]: hmask[32], qs[64], scales[12], d (f16). Sixteen 6-bit
 * scales: scale k takes its low 4 bits from nibble k of bytes 0..7 (k < 8
 * low nibbles, then high ones) and its high 2 bits from bits 2*(k/4) of byte
 * 8 + k%4; it is stored plus 32. Element e's quant is its 2-bit field minus
 * 4 where bit e/32 of hmask[e%32] is clear; x = (d * (scale - 32)) * q. */
static void dq_q3_k(const uint8_t *b, float *y) {
    const uint8_t *hmask = b, *qs = b + 32, *s = b + 96;
    const float d = f16_at(b + 108);
    for (int k = 0; k < 16; k++) {
        int low = k < 8 ? s[k] & 15 : s[k - 8] >> 4;
        int high = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
        const float dl = d * (float)((low | high << 4) - 32);
        for (int e = 16 * k; e < 16 * k + 16; e++) {
            int q = low2_at(qs, e) - ((hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
            y[e] = dl * (float)q;
        }
    }
}

/* Q4_K, Q5_K, Q6_K [144, 176, 210 bytes]: quant/k_quants.h. */
static void dq_q4_k(const uint8_t *b, float *y) { q4_k_dequantize(b, K_VALUES, y); }
static void dq_q5_k(const uint8_t *b, float *y) { q5_k_dequantize(b, K_VALUES, y); }
static void dq_q6_k(const uint8_t *b, float *y) { q6_k_dequantize(b, K_VALUES, y); }

/* Every id ggml defines (gguf-py's GGML_QUANT_SIZES), and the converter of
 * the types nt5 reads (F32, F16 and BF16 convert in bulk instead). */
static const struct type_entry {
    gguf_type_info info;
    block_fn dequantize;
} types[] = {
    [GGML_TYPE_F32] = {{"F32", 1, 4}, NULL},
    [GGML_TYPE_F16] = {{"F16", 1, 2}, NULL},
    [GGML_TYPE_Q4_0] = {{"Q4_0", 32, 18}, dq_q4_0},
    [GGML_TYPE_Q4_1] = {{"Q4_1", 32, 20}, dq_q4_1},
    [GGML_TYPE_Q5_0] = {{"Q5_0", 32, 22}, dq_q5_0},
    [GGML_TYPE_Q5_1] = {{"Q5_1", 32, 24}, dq_q5_1},
    [GGML_TYPE_Q8_0] = {{"Q8_0", 32, 34}, dq_q8_0},
    [GGML_TYPE_Q8_1] = {{"Q8_1", 32, 40}, NULL},
    [GGML_TYPE_Q2_K] = {{"Q2_K", 256, 84}, dq_q2_k},
    [GGML_TYPE_Q3_K] = {{"Q3_K", 256, 110}, dq_q3_k},
    [GGML_TYPE_Q4_K] = {{"Q4_K", 256, 144}, dq_q4_k},
    [GGML_TYPE_Q5_K] = {{"Q5_K", 256, 176}, dq_q5_k},
    [GGML_TYPE_Q6_K] = {{"Q6_K", 256, 210}, dq_q6_k},
    [GGML_TYPE_Q8_K] = {{"Q8_K", 256, 292}, NULL},
    [GGML_TYPE_IQ2_XXS] = {{"IQ2_XXS", 256, 66}, NULL},
    [GGML_TYPE_IQ2_XS] = {{"IQ2_XS", 256, 74}, NULL},
    [GGML_TYPE_IQ3_XXS] = {{"IQ3_XXS", 256, 98}, NULL},
    [GGML_TYPE_IQ1_S] = {{"IQ1_S", 256, 50}, NULL},
    [GGML_TYPE_IQ4_NL] = {{"IQ4_NL", 32, 18}, NULL},
    [GGML_TYPE_IQ3_S] = {{"IQ3_S", 256, 110}, NULL},
    [GGML_TYPE_IQ2_S] = {{"IQ2_S", 256, 82}, NULL},
    [GGML_TYPE_IQ4_XS] = {{"IQ4_XS", 256, 136}, NULL},
    [GGML_TYPE_I8] = {{"I8", 1, 1}, NULL},
    [GGML_TYPE_I16] = {{"I16", 1, 2}, NULL},
    [GGML_TYPE_I32] = {{"I32", 1, 4}, NULL},
    [GGML_TYPE_I64] = {{"I64", 1, 8}, NULL},
    [GGML_TYPE_F64] = {{"F64", 1, 8}, NULL},
    [GGML_TYPE_IQ1_M] = {{"IQ1_M", 256, 56}, NULL},
    [GGML_TYPE_BF16] = {{"BF16", 1, 2}, NULL},
    [GGML_TYPE_TQ1_0] = {{"TQ1_0", 256, 54}, NULL},
    [GGML_TYPE_TQ2_0] = {{"TQ2_0", 256, 66}, NULL},
    [GGML_TYPE_MXFP4] = {{"MXFP4", 32, 17}, NULL},
    [GGML_TYPE_NVFP4] = {{"NVFP4", 64, 36}, NULL},
    [GGML_TYPE_Q1_0] = {{"Q1_0", 128, 18}, NULL},
};

static const struct type_entry *entry_of(uint32_t type) {
    return type < sizeof types / sizeof types[0] && types[type].info.name ? &types[type] : NULL;
}

const gguf_type_info *gguf_type_lookup(uint32_t type) {
    const struct type_entry *t = entry_of(type);
    return t ? &t->info : NULL;
}

nt5_status gguf_dequantize(uint32_t type, const void *blocks, size_t n_elements, float *dst) {
    const struct type_entry *t = entry_of(type);
    if (!t) return err_set(NT5_ERR_FORMAT, "unknown ggml type %u", type);
    if (n_elements % t->info.block_size != 0)
        return err_set(NT5_ERR_INVALID_ARG, "%zu %s elements are not whole %u-element blocks", n_elements, t->info.name,
                       t->info.block_size);
    switch (type) {
    case GGML_TYPE_F32: half_to_f32(dst, blocks, n_elements, NT5_DTYPE_F32); return NT5_OK;
    case GGML_TYPE_F16: half_to_f32(dst, blocks, n_elements, NT5_DTYPE_F16); return NT5_OK;
    case GGML_TYPE_BF16: half_to_f32(dst, blocks, n_elements, NT5_DTYPE_BF16); return NT5_OK;
    default: break;
    }
    if (!t->dequantize) return err_set(NT5_ERR_UNSUPPORTED, "nt5 cannot dequantize %s tensors", t->info.name);
    const uint8_t *b = blocks;
    for (size_t i = 0; i < n_elements / t->info.block_size; i++)
        t->dequantize(b + i * t->info.type_size, dst + i * t->info.block_size);
    return NT5_OK;
}
