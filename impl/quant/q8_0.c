#include "quant/q8_0.h"

#include <math.h>
#include <string.h>

#include "base/half.h"

size_t q8_0_bytes(size_t n) { return n / Q8_0_VALUES * Q8_0_BYTES; }

void q8_0_quantize(const float *x, size_t n, void *blocks) {
    uint8_t *out = blocks;
    for (size_t b = 0; b < n / Q8_0_VALUES; b++) {
        float v[Q8_0_VALUES], amax = 0.0f;
        memcpy(v, x + b * Q8_0_VALUES, sizeof v); /* before the block behind it is overwritten */
        for (int j = 0; j < Q8_0_VALUES; j++) amax = amax > fabsf(v[j]) ? amax : fabsf(v[j]); /* ggml's MAX */
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t h = half_f32_to_f16(d);
        uint8_t *blk = out + b * Q8_0_BYTES;
        blk[0] = (uint8_t)(h & 0xff);
        blk[1] = (uint8_t)(h >> 8);
        for (int j = 0; j < Q8_0_VALUES; j++) blk[2 + j] = (uint8_t)(int8_t)roundf(v[j] * id);
    }
}

void q8_0_dequantize(const void *blocks, size_t n, float *y) {
    const uint8_t *in = blocks;
    for (size_t b = 0; b < n / Q8_0_VALUES; b++) {
        const uint8_t *blk = in + b * Q8_0_BYTES;
        const float d = q8_0_scale(blk);
        for (int j = 0; j < Q8_0_VALUES; j++) y[b * Q8_0_VALUES + j] = d * (float)(int8_t)blk[2 + j];
    }
}
