#include "backend/cpu/cpu_row_block.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_blas.h"

/* Probe shapes: K and N like a small layer's; the reference product has
 * PROBE_ROWS rows, a multiple of every block tried. */
#define PROBE_ROWS 480
#define PROBE_K 200
#define PROBE_N 40

static size_t row_block;

/* c[m, PROBE_N] = a[m, PROBE_K] b^T */
static void product(const float *a, const float *b, size_t m, float *c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, PROBE_N, PROBE_K, 1.0f, a, PROBE_K, b, PROBE_K, 0.0f,
                c, PROBE_N);
}

/* Whether products of `block` times 1, 2, 3 and 5 rows, starting at rows
 * that are multiples of block, give the reference's rows bit for bit. */
static int rows_keep_bits(const float *a, const float *b, const float *ref, float *c, size_t block) {
    for (size_t times = 1; times <= 5; times += times == 3 ? 2 : 1) {
        size_t start = block * (times - 1), m = block * times;
        if (start + m > PROBE_ROWS) return 0;
        product(a + start * PROBE_K, b, m, c);
        if (memcmp(c, ref + start * PROBE_N, sizeof(float) * m * PROBE_N) != 0) return 0;
    }
    return 1;
}

static void probe(void) {
    static const size_t blocks[] = {1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 96};
    float *a = malloc(sizeof(float) * PROBE_ROWS * PROBE_K), *b = malloc(sizeof(float) * PROBE_N * PROBE_K);
    float *ref = malloc(sizeof(float) * PROBE_ROWS * PROBE_N), *c = malloc(sizeof(float) * PROBE_ROWS * PROBE_N);
    if (a && b && ref && c) {
        uint32_t seed = 12345;
        for (size_t i = 0; i < PROBE_ROWS * PROBE_K; i++) {
            seed = seed * 1664525u + 1013904223u; /* values with full mantissas */
            a[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
            if (i < PROBE_N * PROBE_K) b[i] = (float)(seed & 0xffffff) / 16777216.0f - 0.5f;
        }
        cpu_blas_enter();
        product(a, b, PROBE_ROWS, ref);
        for (size_t i = 0; !row_block && i < sizeof blocks / sizeof blocks[0]; i++)
            if (rows_keep_bits(a, b, ref, c, blocks[i])) row_block = blocks[i];
        cpu_blas_leave();
    }
    free(a);
    free(b);
    free(ref);
    free(c);
}

size_t cpu_row_block(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe);
    return row_block;
}
