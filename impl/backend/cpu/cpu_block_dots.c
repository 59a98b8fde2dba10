/* Block weights against float inputs. With AVX2, each group of 32 weights
 * (a Q8_0 block, a Q4_K/Q5_K sub-block, two Q6_K ones) is widened into
 * four vectors of floats in registers and multiplied into every input row,
 * so each weight byte is read once whatever the number of rows; kernels
 * for the shapes decoding asks for keep their sums in registers. A single
 * input against Q8_0 scales each block's sum instead of its weights. */
#include "backend/cpu/cpu_block_dots.h"

#include "backend/cpu/cpu_avx2.h"
#include "backend/cpu/cpu_features.h"
#include "nt5.h"
#include "quant/k_quants.h"
#include "quant/q8_0.h"

/* how far ahead of a row's block the kernels ask for its bytes */
#define PREFETCH_BYTES 1024

/* ---- AVX2: a group of 32 weights at a time, as floats in registers ------- */

AVX2_INLINE __m256 u8x8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
AVX2_INLINE __m128i load8(const uint8_t *p) { return _mm_loadl_epi64((const __m128i *)p); }
AVX2_INLINE __m256 i8x8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(p))); }
AVX2_INLINE float f16c_at(const uint8_t *p) { return _cvtsh_ss((unsigned short)(p[0] | p[1] << 8)); }

/* A block's scales as floats: per group of 32 (Q8_0: d; Q4_K, Q5_K: d * sc
 * and dmin * mn) or of 16 (Q6_K: d * scale). */
typedef struct block_scales {
    float d[16], m[8];
} block_scales;

AVX2_INLINE uint32_t u32_at(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* 8 bytes (lo: values 0..3, hi: 4..7) as floats times d, into out[8] */
AVX2_INLINE void scaled_u8x8(uint32_t lo, uint32_t hi, float d, float *out) {
    __m128i v = _mm_set_epi32(0, 0, (int)hi, (int)lo);
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_set1_ps(d), u8x8(v)));
}

AVX2_INLINE void scales_of(int32_t dtype, const uint8_t *b, block_scales *s) {
    if (dtype == NT5_DTYPE_Q8_0) {
        s->d[0] = f16c_at(b);
    } else if (dtype == NT5_DTYPE_Q6_K) {
        __m256 d = _mm256_set1_ps(f16c_at(b + 208));
        for (int i = 0; i < 16; i += 8)
            _mm256_storeu_ps(s->d + i, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(b + 192 + i)))));
    } else {
        /* k4_scale_min for all eight at once: bytes 0..3 (a) hold scales 0..3 and
         * the top bits of scales 4..7, bytes 4..7 (m) mins 0..3 and the top bits
         * of mins 4..7, bytes 8..11 (c) the low nibbles of scales and mins 4..7 */
        const uint32_t a = u32_at(b + 4), m = u32_at(b + 8), c = u32_at(b + 12), six = 0x3f3f3f3f, four = 0x0f0f0f0f,
                       two = 0x03030303;
        scaled_u8x8(a & six, (c & four) | ((a >> 6) & two) << 4, f16c_at(b), s->d);
        scaled_u8x8(m & six, ((c >> 4) & four) | ((m >> 6) & two) << 4, f16c_at(b + 2), s->m);
    }
}

/* The 32 weights of group g of block b, as four vectors of 8 floats: bit
 * for bit the dequantizers' values (the products by the scales are exact,
 * a min's subtraction rounds once, as there). */
AVX2_INLINE void group_of(int32_t dtype, const uint8_t *b, const block_scales *s, int g, __m256 w[4]) {
    const __m128i low4 = _mm_set1_epi8(15);
    for (int c = 0; c < 4; c++) {
        if (dtype == NT5_DTYPE_Q8_0) { /* w = d * q */
            w[c] = _mm256_mul_ps(_mm256_set1_ps(s->d[0]), i8x8(b + 2 + 8 * c));
        } else if (dtype == NT5_DTYPE_Q6_K) {
            /* g = 4h + j: the nibble j/2 of ql[64h + 32(j%2) + l] and bits 2j of qh[32h + l], stored plus 32 */
            const int h = g / 4, j = g % 4;
            __m128i v = load8(b + 64 * h + 32 * (j % 2) + 8 * c);
            __m128i low = _mm_and_si128(j < 2 ? v : _mm_srli_epi16(v, 4), low4);
            __m128i top = _mm_and_si128(_mm_srli_epi16(load8(b + 128 + 32 * h + 8 * c), 2 * j), _mm_set1_epi8(3));
            __m128i q = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(top, 4)), _mm_set1_epi8(32));
            w[c] = _mm256_mul_ps(_mm256_set1_ps(s->d[2 * g + c / 2]), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
        } else {
            /* Q4_K, Q5_K: sub-block g is nibble g%2 of qs[32 (g/2) + l], Q5_K adds bit g of qh[l] as bit 4 */
            const uint8_t *qs = b + (dtype == NT5_DTYPE_Q5_K ? 48 : 16);
            __m128i v = load8(qs + 32 * (g / 2) + 8 * c);
            __m128i q = _mm_and_si128(g % 2 ? _mm_srli_epi16(v, 4) : v, low4);
            if (dtype == NT5_DTYPE_Q5_K)
                q = _mm_or_si128(q, _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(load8(b + 16 + 8 * c), g),
                                                                 _mm_set1_epi8(1)),
                                                   4));
            w[c] = _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(s->d[g]), u8x8(q)), _mm256_set1_ps(s->m[g]));
        }
    }
}

/* sum q[j] x[j] over the 32 values of a Q8_0 block, as 8 partial sums */
AVX2_INLINE __m256 q8_0_block_sum(const uint8_t *b, const float *x) {
    __m256 s = _mm256_mul_ps(i8x8(b + 2), _mm256_loadu_ps(x));
    __m256 t = _mm256_mul_ps(i8x8(b + 10), _mm256_loadu_ps(x + 8));
    s = _mm256_fmadd_ps(i8x8(b + 18), _mm256_loadu_ps(x + 16), s);
    t = _mm256_fmadd_ps(i8x8(b + 26), _mm256_loadu_ps(x + 24), t);
    return _mm256_add_ps(s, t);
}

/* sums[NX] = 8 partial sums of each of NX input rows . one weight row of
 * `dtype` (values and bytes a block); NX is a constant where this is
 * inlined, so the accumulators stay in registers and the groups of a block
 * unroll. Each product has SPLIT sums (taking every SPLIT-th 8 values), so
 * that the additions of one do not wait on each other: 4 for a single
 * product, 2 for four. */
AVX2_INLINE void dots_sums(int32_t dtype, size_t values, size_t bytes, const uint8_t *w, const float *const *x,
                           size_t NX, size_t K, __m256 *sums) {
    const size_t SPLIT = NX == 1 ? 4 : 2;
    __m256 acc[MAX_INPUT_ROWS][4];
    for (size_t i = 0; i < NX; i++)
        for (size_t a = 0; a < SPLIT; a++) acc[i][a] = _mm256_setzero_ps();
    for (size_t k = 0; k < K; k += values, w += bytes) {
        _mm_prefetch((const char *)w + PREFETCH_BYTES, _MM_HINT_T0);
        if (bytes > 64) _mm_prefetch((const char *)w + PREFETCH_BYTES + 64, _MM_HINT_T0);
        if (bytes > 128) _mm_prefetch((const char *)w + PREFETCH_BYTES + 128, _MM_HINT_T0);
        block_scales s;
        scales_of(dtype, w, &s);
#pragma GCC unroll 8
        for (int g = 0; g < (int)values / 32; g++) {
            __m256 wv[4];
            group_of(dtype, w, &s, g, wv);
            for (size_t i = 0; i < NX; i++)
                for (int c = 0; c < 4; c++) {
                    __m256 *a = &acc[i][(size_t)c % SPLIT];
                    *a = _mm256_fmadd_ps(wv[c], _mm256_loadu_ps(x[i] + k + 32 * g + 8 * c), *a);
                }
        }
    }
    for (size_t i = 0; i < NX; i++) {
        sums[i] = acc[i][0];
        for (size_t a = 1; a < SPLIT; a++) sums[i] = _mm256_add_ps(sums[i], acc[i][a]);
    }
}

/* the shapes of the products: one weight row by four inputs (a few rows),
 * many rows by one (decoding a token: rows are read one after the other,
 * as memory streams best) */
#define KERNEL_1X4(NAME, DTYPE, VALUES, BYTES)                                                                         \
    AVX2 static void NAME##_1x4(const void *w, const float *const *x, size_t K, float *out) {                          \
        __m256 sums[4];                                                                                                \
        dots_sums(DTYPE, VALUES, BYTES, w, x, 4, K, sums);                                                             \
        for (size_t i = 0; i < 4; i++) out[i] = hsum8(sums[i]);                                                        \
    }
#define KERNEL_ROWS(NAME, DTYPE, VALUES, BYTES)                                                                        \
    AVX2_INLINE __m256 NAME##_row_sum(const void *w, const float *x, size_t K) {                                       \
        __m256 sum;                                                                                                    \
        dots_sums(DTYPE, VALUES, BYTES, w, &x, 1, K, &sum);                                                            \
        return sum;                                                                                                    \
    }                                                                                                                  \
    AVX2 static void NAME##_rows(const void *w, size_t row_bytes, size_t nw, const float *x, size_t K, float *out) {   \
        rows_of_one(NAME##_row_sum, w, row_bytes, nw, x, K, out);                                                      \
    }
KERNEL_1X4(q8_0, NT5_DTYPE_Q8_0, Q8_0_VALUES, Q8_0_BYTES)
KERNEL_1X4(q6_k, NT5_DTYPE_Q6_K, K_VALUES, Q6_K_BYTES)
KERNEL_ROWS(q6_k, NT5_DTYPE_Q6_K, K_VALUES, Q6_K_BYTES)
KERNEL_1X4(q5_k, NT5_DTYPE_Q5_K, K_VALUES, Q5_K_BYTES)
KERNEL_ROWS(q5_k, NT5_DTYPE_Q5_K, K_VALUES, Q5_K_BYTES)
KERNEL_1X4(q4_k, NT5_DTYPE_Q4_K, K_VALUES, Q4_K_BYTES)
KERNEL_ROWS(q4_k, NT5_DTYPE_Q4_K, K_VALUES, Q4_K_BYTES)

/* One input by one Q8_0 row: d times each block's sum of q x (one multiply
 * a block, not one a weight vector: decoding is bound by these operations
 * as much as by memory), two blocks a step into two sums. */
AVX2_INLINE __m256 q8_0_row_sum(const void *row, const float *x, size_t K) {
    const uint8_t *w = row;
    __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 2 * Q8_0_VALUES <= K; k += 2 * Q8_0_VALUES, w += 2 * Q8_0_BYTES) {
        _mm_prefetch((const char *)w + PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH_BYTES + 64, _MM_HINT_T0);
        even = _mm256_fmadd_ps(_mm256_set1_ps(f16c_at(w)), q8_0_block_sum(w, x + k), even);
        odd = _mm256_fmadd_ps(_mm256_set1_ps(f16c_at(w + Q8_0_BYTES)),
                              q8_0_block_sum(w + Q8_0_BYTES, x + k + Q8_0_VALUES), odd);
    }
    if (k < K) even = _mm256_fmadd_ps(_mm256_set1_ps(f16c_at(w)), q8_0_block_sum(w, x + k), even);
    return _mm256_add_ps(even, odd);
}

AVX2 static void q8_0_rows(const void *w, size_t row_bytes, size_t nw, const float *x, size_t K, float *out) {
    rows_of_one(q8_0_row_sum, w, row_bytes, nw, x, K, out);
}

static const row_kernels block_kernels[] = {{NT5_DTYPE_Q8_0, q8_0_1x4, q8_0_rows},
                                            {NT5_DTYPE_Q6_K, q6_k_1x4, q6_k_rows},
                                            {NT5_DTYPE_Q5_K, q5_k_1x4, q5_k_rows},
                                            {NT5_DTYPE_Q4_K, q4_k_1x4, q4_k_rows}};

/* ---- widening whole blocks for sgemm ------------------------------------- */

/* the groups of one block stored: bit for bit what the dequantizers give */
AVX2 static void widen_block_avx2(int32_t dtype, const uint8_t *b, size_t values, float *y) {
    block_scales s;
    scales_of(dtype, b, &s);
    for (int g = 0; g < (int)values / 32; g++) {
        __m256 wv[4];
        group_of(dtype, b, &s, g, wv);
        for (int c = 0; c < 4; c++) _mm256_storeu_ps(y + 32 * g + 8 * c, wv[c]);
    }
}

/* ---- plain C ------------------------------------------------------------- */

static void q8_0_dots_c(const uint8_t *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx, size_t K,
                        float *out) {
    for (size_t i = 0; i < nx; i++)
        for (size_t r = 0; r < nw; r++) {
            float acc = 0;
            for (size_t k = 0, at = r * row_bytes; k < K; k += Q8_0_VALUES, at += Q8_0_BYTES) {
                float sum = 0;
                for (size_t j = 0; j < Q8_0_VALUES; j++) sum += (float)(int8_t)w[at + 2 + j] * x[i][k + j];
                acc += sum * q8_0_scale(w + at);
            }
            out[i * nw + r] = acc;
        }
}

static void k_dots_c(const block_type *bt, const uint8_t *w, size_t row_bytes, size_t nw, const float *const *x,
                     size_t nx, size_t K, float *out) {
    float wv[K_VALUES];
    for (size_t i = 0; i < nx * nw; i++) out[i] = 0;
    for (size_t k = 0, at = 0; k < K; k += K_VALUES, at += bt->bytes)
        for (size_t r = 0; r < nw; r++) {
            bt->dequantize(w + r * row_bytes + at, K_VALUES, wv);
            for (size_t i = 0; i < nx; i++) {
                float sum = 0;
                for (size_t j = 0; j < K_VALUES; j++) sum += wv[j] * x[i][k + j];
                out[i * nw + r] += sum;
            }
        }
}

void block_dots_portable(const block_type *bt, const uint8_t *w, size_t row_bytes, size_t nw, const float *const *x,
                         size_t nx, size_t K, float *out) {
    if (bt->dtype == NT5_DTYPE_Q8_0) q8_0_dots_c(w, row_bytes, nw, x, nx, K, out);
    else k_dots_c(bt, w, row_bytes, nw, x, nx, K, out);
}

void block_dots(const block_type *bt, const uint8_t *w, size_t row_bytes, size_t nw, const float *const *x, size_t nx,
                size_t K, float *out) {
    if (!cpu_has_avx2_fma_f16c()) block_dots_portable(bt, w, row_bytes, nw, x, nx, K, out);
    else rows_through_kernels(block_kernels, bt->dtype, w, row_bytes, nw, x, nx, K, out);
}

void block_widen(const block_type *bt, const uint8_t *w, size_t n, float *y) {
    if (!cpu_has_avx2_fma_f16c()) {
        bt->dequantize(w, n, y);
        return;
    }
    for (size_t k = 0; k < n; k += bt->values, w += bt->bytes) widen_block_avx2(bt->dtype, w, bt->values, y + k);
}
