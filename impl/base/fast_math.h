/* Branch-free float functions that the compiler vectorizes, accurate to a
 * few ulp (well inside the 1e-5 parity budget): exp, and the activations
 * built on it. libm's expf/tanhf are scalar calls and dominated the
 * encoder's non-matrix time. */
#ifndef NT5_IMPL_FAST_MATH_H
#define NT5_IMPL_FAST_MATH_H

#include <stdint.h>
#include <string.h>

/* Row kernels built on these functions also get an AVX2 copy, chosen at
 * load time on CPUs that have it (the baseline build is SSE2). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NT5_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NT5_VECTOR_CLONES
#endif

/* e^x for x in float range; results below 2^-126 flush to 2^-126 * p and
 * above 2^127 saturate, which no caller distinguishes from 0 or inf. NaN
 * gives NaN, and infinities saturate: every input is defined (the
 * selects, not branches, keep the loops vectorized). */
static inline float fast_expf(float v) {
    float x = v == v ? v : 0.0f; /* NaN: computed as 0, answered as NaN below */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* x = n ln2 + r, |r| <= ln2 / 2; round to nearest with the 1.5 * 2^23 trick */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187e-06f;
    /* Cephes expf polynomial */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* n in [-126, 127]: a normal power of two */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return v == v ? p * scale : v;
}

/* gelu with the tanh approximation (gelu_new): 0.5 v (1 + tanh(u)) = v * sigmoid(2u) */
static inline float fast_gelu_tanh(float v) {
    float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    return v / (1.0f + fast_expf(-2.0f * u));
}

static inline float fast_silu(float v) { return v / (1.0f + fast_expf(-v)); }

/* ReLU as PyTorch computes it: NaN stays NaN. */
static inline float relu(float v) { return v < 0.0f ? 0.0f : v; }

#endif
