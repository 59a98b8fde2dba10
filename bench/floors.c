/* floors: this machine's limits, measured in the benchmark's run, for the
 * floors of bench/cpu_vs_llamacpp.py.
 *   read bandwidth: THREADS threads each sum their slice of a 512 MiB buffer
 *                   (far beyond the caches), best of 5 passes;
 *   sgemm peak:     OpenBLAS cblas_sgemm 2048 x 2048 x 2048 on THREADS threads,
 *                   best of 3 after a warm-up.
 * usage: floors THREADS [read]   prints {"read_gb_s": x, "sgemm_gflop_s": y},
 *                                 or with `read` the bandwidth alone
 * Build: cc -O3 -march=native floors.c -o floors -lopenblas -lpthread */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct slice {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} slice;

static void *sum_slice(void *arg) { /* integer adds: the compiler vectorizes them */
    slice *s = arg;
    uint64_t a = 0;
    for (size_t i = 0; i < s->n; i++) a += s->p[i];
    s->sum = a;
    return NULL;
}

static double read_gb_s(int threads) {
    const size_t n = (size_t)512 << 20 >> 3;
    uint64_t *buf = malloc(n * sizeof *buf);
    for (size_t i = 0; i < n; i++) buf[i] = i; /* touch every page */
    pthread_t tid[256];
    slice sl[256];
    double best = 1e30;
    uint64_t check = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t = now_s();
        for (int k = 0; k < threads; k++) {
            sl[k] = (slice){buf + n / threads * k, n / threads, 0};
            pthread_create(&tid[k], NULL, sum_slice, &sl[k]);
        }
        for (int k = 0; k < threads; k++) pthread_join(tid[k], NULL), check += sl[k].sum;
        t = now_s() - t;
        best = t < best ? t : best;
    }
    free(buf);
    if (check == 42) puts(""); /* keeps the sums alive */
    return (double)(n / threads * threads * sizeof *buf) / best / 1e9;
}

static double sgemm_gflop_s(int threads) {
    const int n = 2048;
    float *a = malloc(sizeof *a * n * n), *b = malloc(sizeof *b * n * n), *c = malloc(sizeof *c * n * n);
    for (long i = 0; i < (long)n * n; i++) a[i] = (float)(i % 13) * 0.01f, b[i] = (float)(i % 7) * 0.02f;
    openblas_set_num_threads(threads);
    double best = 1e30;
    for (int r = -1; r < 3; r++) {
        double t = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = now_s() - t;
        if (r >= 0 && t < best) best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * n / best / 1e9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 256) return 2;
    if (argc > 2 && strcmp(argv[2], "read") == 0) printf("{\"read_gb_s\": %.2f}\n", read_gb_s(threads));
    else printf("{\"read_gb_s\": %.2f, \"sgemm_gflop_s\": %.1f}\n", read_gb_s(threads), sgemm_gflop_s(threads));
    return 0;
}
