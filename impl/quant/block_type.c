#include "quant/block_type.h"

#include <math.h>
#include <string.h>

#include "base/half.h"
#include "nt5.h"
#include "quant/ggml_types.h"
#include "quant/k_quants.h"
#include "quant/q8_0.h"

static const block_type types[] = {
    {NT5_DTYPE_Q8_0, "Q8_0", GGML_TYPE_Q8_0, Q8_0_VALUES, Q8_0_BYTES, q8_0_quantize, q8_0_dequantize},
    {NT5_DTYPE_Q6_K, "Q6_K", GGML_TYPE_Q6_K, K_VALUES, Q6_K_BYTES, q6_k_quantize, q6_k_dequantize},
    {NT5_DTYPE_Q5_K, "Q5_K", GGML_TYPE_Q5_K, K_VALUES, Q5_K_BYTES, q5_k_quantize, q5_k_dequantize},
    {NT5_DTYPE_Q4_K, "Q4_K", GGML_TYPE_Q4_K, K_VALUES, Q4_K_BYTES, q4_k_quantize, q4_k_dequantize},
};

const block_type *block_type_of(int32_t dtype) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].dtype == dtype) return &types[i];
    return NULL;
}

const block_type *block_type_named(const char *name) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0) return &types[i];
    return NULL;
}

const block_type *block_type_of_ggml(uint32_t ggml_type) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].ggml_type == ggml_type) return &types[i];
    return NULL;
}

size_t block_type_row_bytes(const block_type *t, size_t n) { return n / t->values * t->bytes; }

static int finite_f16(const uint8_t *p) { return isfinite(half_f16_to_f32((uint16_t)(p[0] | p[1] << 8))); }

size_t block_type_bad_scales(const block_type *t, const void *blocks, size_t n) {
    const uint8_t *b = blocks;
    size_t bad = 0;
    for (size_t i = 0; i < n / t->values; i++, b += t->bytes) {
        if (t->dtype == NT5_DTYPE_Q6_K) bad += !finite_f16(b + 208);
        else if (t->dtype == NT5_DTYPE_Q8_0) bad += !finite_f16(b);
        else bad += !finite_f16(b) || !finite_f16(b + 2); /* Q4_K, Q5_K: d, dmin */
    }
    return bad;
}
