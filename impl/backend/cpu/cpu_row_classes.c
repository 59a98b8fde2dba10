#include "backend/cpu/cpu_row_classes.h"

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

static row_classes classes;
static int found;

typedef struct probe_data {
    float *a;   /* [PROBE_ROWS, PROBE_K] */
    float *b;   /* [PROBE_N, PROBE_K] */
    float *ref; /* [PROBE_ROWS, PROBE_N] = a b^T */
    float *c;   /* [PROBE_ROWS, PROBE_N] */
} probe_data;

/* c[m, PROBE_N] = a rows first .. first + m times b^T */
static void product(const probe_data *p, size_t first, size_t m) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, PROBE_N, PROBE_K, 1.0f, p->a + first * PROBE_K,
                PROBE_K, p->b, PROBE_K, 0.0f, p->c, PROBE_N);
}

static int row_kept(const probe_data *p, size_t row, size_t ref_row) {
    return memcmp(p->c + row * PROBE_N, p->ref + ref_row * PROBE_N, sizeof(float) * PROBE_N) == 0;
}

/* Whether products of `block` times 1, 2, 3 and 5 rows, starting at rows
 * that are multiples of block, give the reference's rows bit for bit. */
static int rows_keep_bits(const probe_data *p, size_t block) {
    for (size_t times = 1; times <= 5; times += times == 3 ? 2 : 1) {
        size_t start = block * (times - 1), m = block * times;
        if (start + m > PROBE_ROWS) return 0;
        product(p, start, m);
        for (size_t r = 0; r < m; r++)
            if (!row_kept(p, r, start + r)) return 0;
    }
    return 1;
}

/* same[i * block + j]: a row at place i keeps its bits at place j, seen in
 * products of 2 blocks and of PROBE_ROWS - block rows that start `shift`
 * rows after the reference's for every shift */
static void places_alike(const probe_data *p, size_t block, unsigned char *same) {
    memset(same, 1, block * block);
    for (size_t shift = 1; shift < block; shift++) {
        size_t sizes[] = {2 * block, PROBE_ROWS - block};
        for (size_t k = 0; k < 2; k++) {
            product(p, shift, sizes[k]);
            for (size_t r = 0; r < sizes[k]; r++)
                if (!row_kept(p, r, r + shift)) same[(r + shift) % block * block + r % block] = 0;
        }
    }
}

/* Classes from `same` when it partitions the places into classes of equal
 * size; otherwise each place a class of its own. */
static void classes_from(const unsigned char *same, size_t block, row_classes *rc) {
    size_t count = 0;
    unsigned char unset = ROW_CLASSES_MAX_BLOCK;
    memset(rc->class_of, unset, sizeof rc->class_of);
    for (size_t i = 0; i < block; i++) {
        if (rc->class_of[i] != unset) continue;
        for (size_t j = i; j < block; j++)
            if (rc->class_of[j] == unset && same[i * block + j]) rc->class_of[j] = (unsigned char)count;
        count++;
    }
    int partition = block % count == 0;
    for (size_t i = 0; i < block; i++) {
        size_t members = 0;
        for (size_t j = 0; j < block; j++) {
            int alike = rc->class_of[i] == rc->class_of[j];
            members += (size_t)alike;
            partition &= alike == (same[i * block + j] && same[j * block + i]);
        }
        partition &= members * count == block;
    }
    rc->block = block;
    rc->count = partition ? count : block;
    for (size_t i = 0; !partition && i < block; i++) rc->class_of[i] = (unsigned char)i;
}

static void probe(void) {
    static const size_t blocks[] = {1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 96};
    probe_data p = {malloc(sizeof(float) * PROBE_ROWS * PROBE_K), malloc(sizeof(float) * PROBE_N * PROBE_K),
                    malloc(sizeof(float) * PROBE_ROWS * PROBE_N), NULL};
    p.c = malloc(sizeof(float) * PROBE_ROWS * PROBE_N);
    unsigned char *same = malloc(ROW_CLASSES_MAX_BLOCK * ROW_CLASSES_MAX_BLOCK);
    if (p.a && p.b && p.ref && p.c && same) {
        uint32_t seed = 12345;
        for (size_t i = 0; i < PROBE_ROWS * PROBE_K; i++) {
            seed = seed * 1664525u + 1013904223u; /* values with full mantissas */
            p.a[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
            if (i < PROBE_N * PROBE_K) p.b[i] = (float)(seed & 0xffffff) / 16777216.0f - 0.5f;
        }
        cpu_blas_enter();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, PROBE_ROWS, PROBE_N, PROBE_K, 1.0f, p.a, PROBE_K, p.b,
                    PROBE_K, 0.0f, p.ref, PROBE_N);
        for (size_t i = 0; !found && i < sizeof blocks / sizeof blocks[0]; i++)
            if (rows_keep_bits(&p, blocks[i])) {
                places_alike(&p, blocks[i], same);
                classes_from(same, blocks[i], &classes);
                found = 1;
            }
        cpu_blas_leave();
    }
    free(p.a);
    free(p.b);
    free(p.ref);
    free(p.c);
    free(same);
}

const row_classes *cpu_row_classes(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe);
    return found ? &classes : NULL;
}
