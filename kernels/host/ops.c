/* The CUDA backend's row, attention and memory ops: each launches its
 * kernels (kernels/device/) on the call's stream. */
#include "kernels/host/ops.h"

#include <math.h>
#include <stdlib.h>

#include "backend/position_bias.h"
#include "kernels/device/launch.h"
#include "kernels/host/session.h"

void cuda_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d) {
    cuda_failed(x,
                launch_embed(out, table->data, table->dtype, ldexpf(1.0f, table->weight_exp), ids, n, d,
                             session_of(x)->stream),
                "embed");
}

void cuda_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                  float eps, float scale) {
    cuda_failed(x, launch_rmsnorm(out, out_dtype, in, w, rows, d, eps, scale, session_of(x)->stream), "rmsnorm");
}

void cuda_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                         size_t M, size_t F, activation act, int gated) {
    cuda_failed(x, launch_ffn_activation(out, out_dtype, out_scale, in, ld_in, M, F, act, gated, session_of(x)->stream),
                "activation");
}

/* kv_valid on the device; the same lengths every layer and step of a call
 * are uploaded once. */
static const int32_t *valid_on_device(exec_ctx *x, const size_t *kv_valid, size_t n) {
    cuda_session *s = session_of(x);
    size_t same = 0;
    if (s->valid && s->valid_n == n)
        while (same < n && (size_t)s->valid_host[same] == kv_valid[same]) same++;
    if (same == n && s->valid_n == n) return s->valid;
    if (s->capturing) { /* an upload from pageable memory cannot be recorded */
        s->capture_broken = 1;
        return NULL;
    }
    int32_t *host = malloc(n * sizeof *host);
    if (!host) {
        x->status = backend_of(x)->host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    for (size_t b = 0; b < n; b++) host[b] = (int32_t)kv_valid[b];
    s->valid_n = 0;                      /* until the new lengths are queued */
    if (s->recordings) s->valid_cap = 0; /* a recorded step may read the old lengths: new ones take a new buffer */
    int32_t *dev = cuda_grow(x, (void **)&s->valid, &s->valid_cap, n * sizeof *host);
    if (!dev ||
        cuda_failed(x, cudaMemcpyAsync(dev, host, n * sizeof *host, cudaMemcpyHostToDevice, s->stream), "upload")) {
        free(host);
        return NULL;
    }
    free(s->valid_host);
    s->valid_host = host;
    s->valid_n = n;
    return dev;
}

void cuda_attention(exec_ctx *x, const attn_args *a) {
    cuda_attention_args args = {.a = *a, .disabled = backend_of(x)->disabled, .tc_kernels = backend_of(x)->tc_kernels};
    if (a->kv_valid && !(args.kv_valid = valid_on_device(x, a->kv_valid, (a->batch + a->kv_group - 1) / a->kv_group)))
        return;
    args.log_ratio = position_log_ratio(a->bidirectional, a->num_buckets, a->max_distance);
    size_t partials = attention_partials(a, args.disabled);
    if (partials) {
        cuda_session *s = session_of(x);
        if (!(args.partials = cuda_grow(x, (void **)&s->partials, &s->partials_cap, partials * sizeof(float)))) return;
    }
    cuda_failed(x, launch_attention(&args, session_of(x)->stream), "attention");
}

void cuda_zero(exec_ctx *x, float *p, size_t n) {
    if (n) cuda_failed(x, cudaMemsetAsync(p, 0, n * sizeof *p, session_of(x)->stream), "zero");
}

/* f32 as is; bf16/f16 cast on the GPU (into dst, or a scratch buffer then copied to the host) */
void cuda_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n) {
    cuda_session *s = session_of(x);
    if (n == 0) return;
    const void *from = src;
    size_t bytes = n * (dtype == NT5_DTYPE_F32 ? 4 : 2);
    if (dtype != NT5_DTYPE_F32) {
        uint16_t *half = on_device ? dst : cuda_grow(x, (void **)&s->bf16_in, &s->bf16_cap, bytes);
        if (!half || cuda_failed(x, launch_to_half(half, src, n, 1, n, dtype, 1.0f, s->stream), "output cast")) return;
        from = half;
        if (on_device) return;
    }
    if (cuda_failed(x,
                    cudaMemcpyAsync(dst, from, bytes, on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost,
                                    s->stream),
                    "output copy"))
        return;
    if (!on_device) cuda_failed(x, cudaStreamSynchronize(s->stream), "output copy");
}

void cuda_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos, const float *src,
                      size_t ld_src, size_t batch, size_t cols) {
    cuda_failed(x, launch_append_rows(dst, block_stride, ld_dst, pos, src, ld_src, batch, cols, session_of(x)->stream),
                "cache append");
}

void cuda_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count,
                        size_t block_elems, size_t stride) {
    cuda_failed(x, launch_gather_blocks(dst, src, index, count, block_elems, stride, session_of(x)->stream), "gather");
}
