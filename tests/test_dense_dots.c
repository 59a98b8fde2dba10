/* The CPU's products with dense weights (backend/cpu/cpu_dense_dots.h):
 *   - the dot products of 1..4 input rows with 1..70 weight rows of f32,
 *     f16 and bf16, at lengths that end inside a vector, equal
 *     double-precision sums of the stored weights, with the AVX2 kernels
 *     (where the CPU has them) and the portable C ones; a row's product
 *     the same bits alone as among many;
 *   - widening f16 and bf16 rows equals half_to_f32 bit for bit, for
 *     normal, subnormal, zero and infinite values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_dense_dots.h"
#include "base/half.h"
#include "harness.h"
#include "nt5.h"

static const char *name_of(int32_t dtype) {
    return dtype == NT5_DTYPE_F32 ? "f32" : dtype == NT5_DTYPE_F16 ? "f16" : "bf16";
}

static float next_value(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) % 2001) / 1000.0f - 1.0f;
}

/* dense_dots against double sums of the stored weights, for every nw, nx and K below */
static void check_dots(int32_t dtype) {
    static const size_t Ks[] = {1, 7, 8, 31, 33, 100, 515}, nws[] = {1, 3, 4, 5, 70};
    const size_t max_k = 515, max_rows = 70, elem = dtype == NT5_DTYPE_F32 ? 4 : 2;
    float *w = malloc(max_rows * max_k * sizeof(float)), *x = malloc(4 * max_k * sizeof(float));
    void *stored = malloc(max_rows * max_k * elem);
    unsigned seed = 2024;
    for (size_t k = 0; k < max_rows * max_k; k++) w[k] = next_value(&seed);
    for (size_t k = 0; k < 4 * max_k; k++) x[k] = next_value(&seed);
    half_from_f32(stored, w, max_rows * max_k, dtype);
    half_to_f32(w, stored, max_rows * max_k, dtype); /* the values the kernels see */
    double worst = 0;
    float out[4 * 70];
    for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
        for (size_t b = 0; b < sizeof nws / sizeof *nws; b++)
            for (size_t nx = 1; nx <= 4; nx++)
                for (int portable = 0; portable <= 1; portable++) {
                    size_t K = Ks[a], nw = nws[b];
                    const float *xs[4] = {x, x + K, x + 2 * K, x + 3 * K};
                    memset(out, 0, sizeof out);
                    /* rows max_k apart: the stride is not the length */
                    (portable ? dense_dots_portable : dense_dots)(dtype, stored, max_k * elem, nw, xs, nx, K, out);
                    worst = fmax(worst, dot_products_error(out, w, max_k, nw, xs, nx, K));
                }
    CHECK(worst < 1e-6, "%s: dot products off by %.3g of the sum of magnitudes", name_of(dtype), worst);
    /* one input: a row's product has the same bits alone as among 70 (whose lanes are summed four rows at once) */
    for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++) {
        size_t K = Ks[a], differ = 0;
        const float *xs[1] = {x};
        dense_dots(dtype, stored, max_k * elem, max_rows, xs, 1, K, out);
        for (size_t r = 0; r < max_rows; r++) {
            float alone;
            dense_dots(dtype, (const char *)stored + r * max_k * elem, max_k * elem, 1, xs, 1, K, &alone);
            differ += memcmp(&alone, &out[r], sizeof alone) != 0;
        }
        CHECK(differ == 0, "%s K=%zu: %zu rows differ alone from among 70", name_of(dtype), K, differ);
    }
    free(w);
    free(x);
    free(stored);
}

/* dense_widen equals the scalar conversion bit for bit */
static void check_widen(int32_t dtype) {
    enum { N = 1000 };
    uint16_t h[N];
    float got[N], want[N];
    unsigned seed = 7;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        h[i] = (uint16_t)(seed >> 9);
    }
    /* zeros, subnormals, the largest finite values and infinities of both types */
    const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x83ff, 0x7bff, 0xfbff,
                                 0x7c00, 0xfc00, 0x0080, 0x7f7f, 0xff80};
    memcpy(h, specials, sizeof specials);
    for (size_t i = 0; i < N; i++) /* no NaN: its payload is not part of the contract */
        if ((dtype == NT5_DTYPE_F16 && (h[i] & 0x7c00) == 0x7c00 && (h[i] & 0x3ff)) ||
            (dtype == NT5_DTYPE_BF16 && (h[i] & 0x7f80) == 0x7f80 && (h[i] & 0x7f)))
            h[i] = 0x3c00;
    half_to_f32(want, h, N, dtype);
    for (size_t n = 0; n <= 17; n++) { /* lengths that end inside a vector, then all */
        memset(got, 0, sizeof got);
        dense_widen(dtype, h, n == 17 ? N : n, got);
        CHECK(memcmp(got, want, (n == 17 ? N : n) * sizeof(float)) == 0, "%s: widening %zu values", name_of(dtype),
              n == 17 ? (size_t)N : n);
    }
}

int main(void) {
    static const int32_t dtypes[] = {NT5_DTYPE_F32, NT5_DTYPE_F16, NT5_DTYPE_BF16};
    for (int i = 0; i < 3; i++) check_dots(dtypes[i]);
    check_widen(NT5_DTYPE_F16);
    check_widen(NT5_DTYPE_BF16);
    return harness_finish("dense-dots");
}
