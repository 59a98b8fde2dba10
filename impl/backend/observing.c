#include "backend/observing.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/half.h"

typedef struct observing_backend {
    backend base;
    backend_ops ops; /* inner's, with the products and the backend-wide calls replaced */
    const backend *inner;
    product_observer obs;
    int emulate_f16;
} observing_backend;

static const observing_backend *observing_of(const exec_ctx *x) { return (const observing_backend *)x->be; }
static const backend *inner_of(const backend *be) { return ((const observing_backend *)be)->inner; }

/* in[M, K] rounded as a half-precision product reads it, f16(in / 2^e) * 2^e,
 * into a new [M, K] buffer. */
static float *f16_rounded(exec_ctx *x, const float *in, size_t ld_in, size_t M, size_t K, int e) {
    float *r = malloc(M * K * sizeof *r + 1);
    if (!r) {
        x->status = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory rounding a product's input");
        return NULL;
    }
    for (size_t i = 0; i < M; i++)
        for (size_t k = 0; k < K; k++)
            r[i * K + k] = ldexpf(half_f16_to_f32(half_f32_to_f16(ldexpf(in[i * ld_in + k], -e))), e);
    return r;
}

/* The fp32 input [M, K] of a product with w, rounded to f16 first when
 * emulating (then *in points into the returned buffer, to free), shown to
 * the observer. */
static float *observe_input(exec_ctx *x, const wmat *w, const void **in, int32_t in_dtype, size_t *ld_in, size_t M,
                            size_t K) {
    const observing_backend *ob = observing_of(x);
    float *rounded = NULL;
    if (in_dtype != NT5_DTYPE_F32) return NULL; /* host backends take fp32 inputs only */
    if (ob->emulate_f16 && w->input_exp >= 0) {
        if (!(rounded = f16_rounded(x, *in, *ld_in, M, K, w->input_exp))) return NULL;
        *in = rounded;
        *ld_in = K;
    }
    if (ob->obs.seen) ob->obs.seen(ob->obs.user, w, *in, *ld_in, M, K);
    return rounded;
}

static void observed_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in,
                            const wmat *w, size_t M, size_t N, size_t K, int accumulate) {
    float *rounded = observe_input(x, w, &in, in_dtype, &ld_in, M, K);
    if (x->status == NT5_OK)
        observing_of(x)->inner->ops->linear(x, out, ld_out, in, in_dtype, ld_in, w, M, N, K, accumulate);
    free(rounded);
}

static void observed_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in,
                                 int32_t in_dtype, size_t ld_in, const wmat *w, size_t M, size_t N, size_t K) {
    float *rounded = observe_input(x, w, &in, in_dtype, &ld_in, M, K);
    if (x->status == NT5_OK)
        observing_of(x)->inner->ops->linear_relu(x, out, out_dtype, out_scale, in, in_dtype, ld_in, w, M, N, K);
    free(rounded);
}

/* calls that take the backend itself go to inner */
static int observed_threads(const backend *be) { return inner_of(be)->ops->threads(inner_of(be)); }

static void *observed_adopt_weight(backend *be, void *host, size_t bytes) {
    backend *inner = (backend *)inner_of(be);
    return inner->ops->adopt_weight(inner, host, bytes);
}

static void observed_free_weight(backend *be, void *w) {
    backend *inner = (backend *)inner_of(be);
    inner->ops->free_weight(inner, w);
}

static nt5_status observed_read_weight(const backend *be, void *host, const void *w, size_t bytes) {
    return inner_of(be)->ops->read_weight(inner_of(be), host, w, bytes);
}

static void observed_reserve(backend *be, size_t bytes) {
    backend *inner = (backend *)inner_of(be);
    inner->ops->reserve(inner, bytes);
}

static nt5_status observed_exec_begin(const backend *be, exec_ctx *x) {
    return inner_of(be)->ops->exec_begin(inner_of(be), x);
}

static void observed_destroy(backend *be) { free(be); }

nt5_status observing_backend_create(const backend *inner, const product_observer *obs, int emulate_f16, backend **out) {
    if (inner->ops->device != NT5_DEVICE_CPU)
        return err_set(NT5_ERR_UNSUPPORTED, "observing products needs a backend with host memory, not %s",
                       inner->ops->name);
    observing_backend *ob = calloc(1, sizeof *ob);
    if (!ob) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    ob->ops = *inner->ops;
    ob->ops.destroy = observed_destroy;
    ob->ops.threads = observed_threads;
    ob->ops.adopt_weight = observed_adopt_weight;
    ob->ops.free_weight = observed_free_weight;
    ob->ops.read_weight = observed_read_weight;
    ob->ops.reserve = observed_reserve;
    ob->ops.exec_begin = observed_exec_begin;
    ob->ops.linear = observed_linear;
    ob->ops.linear_relu = observed_linear_relu;
    ob->base.ops = &ob->ops;
    ob->inner = inner;
    if (obs) ob->obs = *obs;
    ob->emulate_f16 = emulate_f16;
    *out = &ob->base;
    return NT5_OK;
}
