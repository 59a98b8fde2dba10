/* The CPU backend's table, memory and lifetime (cpu_backend.h). */
#include "backend/cpu/cpu_backend.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cpu/cpu_attention.h"
#include "backend/cpu/cpu_blas.h"
#include "backend/cpu/cpu_row_classes.h"
#include "backend/cpu/cpu_internal.h"
#include "backend/cpu/cpu_linear.h"
#include "backend/cpu/cpu_picks.h"
#include "backend/cpu/cpu_rows.h"
#include "base/error.h"
#include "base/half.h"

static void cpu_destroy(backend *be) {
    cpu_backend *c = (cpu_backend *)be;
    cpu_blas_close(pool_threads(c->pool));
    pool_destroy(c->pool);
    free(c);
}

static void *cpu_adopt_weight(backend *be, void *host, size_t bytes) {
    (void)be;
    (void)bytes;
    return host;
}

static void cpu_free_weight(backend *be, void *w) {
    (void)be;
    free(w);
}

static nt5_status cpu_read_weight(const backend *be, void *host, const void *w, size_t bytes) {
    (void)be;
    memcpy(host, w, bytes);
    return NT5_OK;
}

static const row_classes *cpu_row_classes_of(const backend *be) {
    (void)be;
    return cpu_row_classes();
}

static nt5_status cpu_exec_begin(const backend *be, exec_ctx *x) {
    x->scratch = (void *)be; /* the ops' way to the pool (cpu_pool_of) */
    return NT5_OK;
}

static nt5_status cpu_exec_end(exec_ctx *x) { return x->status; }

/* host memory comes and goes with each call */
static void cpu_reserve(backend *be, size_t bytes) {
    (void)be;
    (void)bytes;
}

static float *cpu_alloc(exec_ctx *x, size_t n) {
    float *p = malloc(n * sizeof(float));
    if (!p) x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory allocating %zu floats", n);
    return p;
}

static void cpu_release(exec_ctx *x, float *p) {
    (void)x;
    free(p);
}

static void cpu_copy(exec_ctx *x, float *dst, const float *src, size_t n) {
    (void)x;
    if (n) memcpy(dst, src, n * sizeof(float));
}

static void cpu_upload_ints(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n) {
    (void)x;
    if (n) memcpy(dst, src, n * sizeof *src);
}

/* nothing to record: the CPU runs the step every time */
static void cpu_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx) {
    (void)slot;
    body(x, ctx);
}

static void cpu_free_recorded(exec_ctx *x, void *slot) {
    (void)x;
    (void)slot;
}

static void cpu_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos,
                            const float *src, size_t ld_src, size_t batch, size_t cols) {
    (void)x;
    for (size_t b = 0; b < batch; b++)
        memcpy(dst + b * block_stride + (size_t)*pos * ld_dst, src + b * ld_src, cols * sizeof(float));
}

static void cpu_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count,
                              size_t block_elems, size_t stride) {
    (void)x;
    for (size_t b = 0; b < count; b++)
        memcpy(dst + b * stride, src + (size_t)index[b] * stride, block_elems * sizeof(float));
}

static int cpu_pool_threads(const backend *be) { return pool_threads(((const cpu_backend *)be)->pool); }

static void cpu_zero(exec_ctx *x, float *p, size_t n) {
    (void)x;
    if (n) memset(p, 0, n * sizeof *p);
}

/* host memory only: the API refuses device output for CPU models */
static void cpu_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n) {
    (void)x;
    (void)on_device;
    half_from_f32(dst, src, n, dtype);
}

static const backend_ops cpu_ops = {
    .name = "cpu",
    .device = NT5_DEVICE_CPU,
    .computes_in_weight_dtype = 0,
    .destroy = cpu_destroy,
    .threads = cpu_pool_threads,
    .adopt_weight = cpu_adopt_weight,
    .free_weight = cpu_free_weight,
    .read_weight = cpu_read_weight,
    .row_classes = cpu_row_classes_of,
    .reserve = cpu_reserve,
    .exec_begin = cpu_exec_begin,
    .exec_end = cpu_exec_end,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_copy,
    .upload_ints = cpu_upload_ints,
    .download = cpu_copy,
    .run_recorded = cpu_run_recorded,
    .free_recorded = cpu_free_recorded,
    .embed = cpu_embed,
    .rmsnorm = cpu_rmsnorm,
    .linear = cpu_linear,
    .linear_relu = cpu_linear_relu,
    .ffn_activation = cpu_ffn_activation,
    .attention = cpu_attention,
    .greedy_pick = cpu_greedy_pick,
    .sample_pick = cpu_sample_pick,
    .beam_candidates = cpu_beam_candidates,
    .zero = cpu_zero,
    .store = cpu_store,
    .append_rows = cpu_append_rows,
    .gather_blocks = cpu_gather_blocks,
};

nt5_status cpu_backend_create(int threads, backend **out) {
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    /* nt5 splits every product over its own pool; BLAS runs single-threaded
     * inside each piece. (This sets OpenBLAS's process-wide thread count.) */
    openblas_set_num_threads(1);
    nt5_status st = cpu_blas_open(threads);
    if (st != NT5_OK) return st;
    cpu_backend *c = calloc(1, sizeof *c);
    if (c) st = pool_create(threads, &c->pool);
    else st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st != NT5_OK) {
        cpu_blas_close(threads);
        free(c);
        return st;
    }
    c->base.ops = &cpu_ops;
    *out = &c->base;
    return NT5_OK;
}
