/* ggml's k-quant weight blocks of 256 values (QK_K), in the layout GGUF
 * files store, so a file's blocks are used as they are:
 *   Q4_K [144 bytes]: d, dmin (f16), scales[12], qs[128]
 *   Q5_K [176 bytes]: d, dmin (f16), scales[12], qh[32], qs[128]
 *   Q6_K [210 bytes]: ql[128], qh[64], scales[16] (int8), d (f16)
 * Q4_K and Q5_K hold eight 32-value sub-blocks of 4- or 5-bit quants q with
 * a 6-bit scale sc and min mn each: x = (d * sc) * q - dmin * mn. Q6_K
 * holds sixteen 16-value sub-blocks of 6-bit quants with an int8 scale:
 * x = (d * scale) * (q - 32). */
#ifndef NT5_IMPL_QUANT_K_QUANTS_H
#define NT5_IMPL_QUANT_K_QUANTS_H

#include <stddef.h>
#include <stdint.h>

#define K_VALUES 256
#define Q4_K_BYTES 144
#define Q5_K_BYTES 176
#define Q6_K_BYTES 210

/* Quantizes x[n] (finite; n a multiple of K_VALUES) into blocks exactly as
 * ggml's reference quantize_row_q*_K_ref does (llama-quantize without an
 * importance matrix). blocks may be x itself: each block's values are read
 * before anything is written over them. */
void q4_k_quantize(const float *x, size_t n, void *blocks);
void q5_k_quantize(const float *x, size_t n, void *blocks);
void q6_k_quantize(const float *x, size_t n, void *blocks);

/* y[n] = the values of the blocks (bit for bit ggml's dequantize_row_q*_K). */
void q4_k_dequantize(const void *blocks, size_t n, float *y);
void q5_k_dequantize(const void *blocks, size_t n, float *y);
void q6_k_dequantize(const void *blocks, size_t n, float *y);

/* The 6-bit scale and min of sub-block s (0..7) of a Q4_K/Q5_K block from
 * its 12 packed bytes: s < 4 in the low 6 bits of bytes s (scale) and s + 4
 * (min); s >= 4 the low 4 bits from byte s + 4 (scale: low nibble, min:
 * high nibble) and the high 2 from the top bits of bytes s - 4 (scale) and
 * s (min). Inline: the kernels read it per sub-block. */
static inline void k4_scale_min(const uint8_t *p, int s, int *sc, int *mn) {
    if (s < 4) {
        *sc = p[s] & 63;
        *mn = p[s + 4] & 63;
    } else {
        *sc = (p[s + 4] & 15) | (p[s - 4] >> 6) << 4;
        *mn = (p[s + 4] >> 4) | (p[s] >> 6) << 4;
    }
}

#endif
