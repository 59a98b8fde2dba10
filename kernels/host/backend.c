/* The CUDA backend (libnt5-cuda.so): backend.h's ops on one GPU. Weights
 * live in device memory; each API call takes a session (a stream, a
 * cuBLASLt workspace and small scratch buffers) from the backend's pool, so
 * threads sharing a model never share a stream. Buffers come from the
 * device's stream-ordered memory pool, which keeps freed memory for reuse.
 * Products go through cuBLASLt: f32 weights in fp32 (TF32 only when the
 * model options allow it); bf16 weights
 * with a bf16 input; f16 weights (value * 2^-weight_exp) with the input
 * divided by 2^input_exp in f16, the result multiplied back in cuBLASLt's
 * alpha; fp32 accumulation and output, so the residual stream stays fp32
 * (a residual product adds into it through beta = 1). RMSNorm and the FFN
 * activation write their 16-bit product inputs themselves; other inputs
 * (attention output, encoder output) are cast here first. Errors end the call with NT5_ERR_DEVICE or
 * NT5_ERR_OUT_OF_MEMORY and leave the model usable. */
#include <cublasLt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda_module.h"
#include "kernels/device/launch.h"
#include "generate/logits_process.h"
#include "backend/position_bias.h"
#include "model/weights.h"

#define WORKSPACE_BYTES ((size_t)32 << 20)
#define PLAN_CACHE 128
#define RETIRED_MAX 16

/* Per-call state: reused by later calls once returned to the pool. */
typedef struct cuda_session {
    cudaStream_t stream;
    void *workspace;            /* [WORKSPACE_BYTES] for cuBLASLt */
    uint16_t *bf16_in;          /* [bf16_cap] a product's input cast to bf16/f16, or an output cast */
    size_t bf16_cap;
    int32_t *valid;             /* [valid_cap] attention's kv_valid, uploaded when it changes */
    size_t valid_cap, valid_n;
    int32_t *valid_host;        /* [valid_n] what `valid` holds */
    void *picks;                /* [picks_cap] greedy ids and log-probabilities, or beam candidates */
    size_t picks_cap;
    float *partials;            /* [partials_cap] attention's per-slice results */
    size_t partials_cap;
    int capturing;              /* a decoding step is being recorded: no buffer may move */
    int capture_broken;         /* something in it could not be recorded */
    int recordings;             /* live recordings, which hold these buffers' addresses */
    void *retired[RETIRED_MAX]; /* buffers grown out of while a recording lived: freed at the call's end */
    int n_retired;
    struct cuda_session *next;
} cuda_session;

/* A cached cuBLASLt product: descriptors and the heuristic's algorithm for one shape. */
typedef struct lt_plan {
    size_t M, N, K, ld_in, ld_out;
    int32_t dtype, out_dtype;   /* weights and input; output */
    int accumulate, relu, used;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
} lt_plan;

typedef struct cuda_backend {
    backend base;
    const cuda_host *host;
    int device;
    cublasLtHandle_t lt;
    int tf32;               /* f32 products in TF32 (nt5_model_options.allow_tf32) */
    unsigned disabled;      /* CUDA_OFF_* from NT5_CUDA_DISABLE */
    size_t tc_smem;         /* nt5_cuda_attention_tc_setup() */
    pthread_mutex_t lock;   /* the session pool and the plan cache */
    cuda_session *idle;
    lt_plan plans[PLAN_CACHE];
    size_t next_plan;
} cuda_backend;

static cuda_backend *cb_of(const backend *be) { return (cuda_backend *)be; }
static cuda_session *session_of(exec_ctx *x) { return x->scratch; }
static const cuda_host *host_of(const exec_ctx *x) { return cb_of(x->be)->host; }

/* Records the first failure of a call; later ops on it do nothing. */
static int failed(exec_ctx *x, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return x->status != NT5_OK;
    if (x->status == NT5_OK)
        x->status = host_of(x)->set_error(e == cudaErrorMemoryAllocation ? NT5_ERR_OUT_OF_MEMORY : NT5_ERR_DEVICE,
                                          "CUDA %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    cudaGetLastError(); /* clear a non-sticky error so the model stays usable */
    return 1;
}

static int lt_failed(exec_ctx *x, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return x->status != NT5_OK;
    if (x->status == NT5_OK)
        x->status = host_of(x)->set_error(s == CUBLAS_STATUS_ALLOC_FAILED ? NT5_ERR_OUT_OF_MEMORY : NT5_ERR_DEVICE,
                                          "cuBLASLt %s: status %d", what, (int)s);
    return 1;
}

/* ---- weights ---- */

static void *cuda_adopt_weight(backend *be, void *host, size_t bytes) {
    void *dev = NULL;
    cudaSetDevice(cb_of(be)->device);
    if (cudaMalloc(&dev, bytes ? bytes : 1) != cudaSuccess ||
        cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
        cudaGetLastError();
        cudaFree(dev);
        dev = NULL;
    }
    free(host);
    return dev;
}

static void cuda_free_weight(backend *be, void *w) {
    cudaSetDevice(cb_of(be)->device);
    cudaFree(w);
}

static void cuda_read_weight(const backend *be, void *host, const void *w, size_t bytes) {
    cudaSetDevice(cb_of(be)->device);
    cudaMemcpy(host, w, bytes, cudaMemcpyDeviceToHost);
}

/* ---- sessions ---- */

static void session_free(cuda_session *s) {
    if (!s) return;
    if (s->stream) {
        if (s->bf16_in) cudaFreeAsync(s->bf16_in, s->stream);
        if (s->valid) cudaFreeAsync(s->valid, s->stream);
        if (s->picks) cudaFreeAsync(s->picks, s->stream);
        if (s->partials) cudaFreeAsync(s->partials, s->stream);
        cudaStreamSynchronize(s->stream);
        cudaStreamDestroy(s->stream);
    }
    cudaFree(s->workspace);
    free(s->valid_host);
    free(s);
}

static nt5_status device_error(const cuda_backend *cb, cudaError_t e) {
    cudaGetLastError();
    return cb->host->set_error(e == cudaErrorMemoryAllocation ? NT5_ERR_OUT_OF_MEMORY : NT5_ERR_DEVICE,
                               "CUDA: cannot start a call on device %d: %s", cb->device, cudaGetErrorString(e));
}

/* The device's stream-ordered pool keeps what is freed into it (check_device). */
static void cuda_reserve(backend *be, size_t bytes) {
    void *p = NULL;
    if (cudaSetDevice(cb_of(be)->device) == cudaSuccess && cudaMallocAsync(&p, bytes, cudaStreamPerThread) == cudaSuccess)
        cudaFreeAsync(p, cudaStreamPerThread);
    cudaStreamSynchronize(cudaStreamPerThread);
    cudaGetLastError(); /* best effort: a failure leaves nothing behind */
}

/* A session from the pool, or a new one. */
static nt5_status cuda_exec_begin(const backend *be, exec_ctx *x) {
    cuda_backend *cb = cb_of(be);
    memset(x, 0, sizeof *x);
    x->be = be;
    cudaError_t e = cudaSetDevice(cb->device); /* the device is per thread */
    if (e != cudaSuccess) return device_error(cb, e);
    pthread_mutex_lock(&cb->lock);
    cuda_session *s = cb->idle;
    if (s) cb->idle = s->next;
    pthread_mutex_unlock(&cb->lock);
    if (!s) {
        if (!(s = calloc(1, sizeof *s))) return cb->host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking);
        if (e == cudaSuccess) e = cudaMalloc(&s->workspace, WORKSPACE_BYTES);
        if (e != cudaSuccess) {
            session_free(s);
            return device_error(cb, e);
        }
    }
    x->scratch = s;
    return NT5_OK;
}

static nt5_status cuda_exec_end(exec_ctx *x) {
    cuda_backend *cb = cb_of(x->be);
    cuda_session *s = session_of(x);
    for (; s->n_retired > 0; s->n_retired--) cudaFreeAsync(s->retired[s->n_retired - 1], s->stream);
    failed(x, cudaStreamSynchronize(s->stream), "call");
    pthread_mutex_lock(&cb->lock);
    s->next = cb->idle;
    cb->idle = s;
    pthread_mutex_unlock(&cb->lock);
    x->scratch = NULL;
    return x->status;
}

/* A session buffer of at least `bytes`, grown on the call's stream. */
static void *grow(exec_ctx *x, void **buf, size_t *cap, size_t bytes) {
    if (*cap >= bytes) return *buf;
    cuda_session *s = session_of(x);
    if (s->capturing) { /* the recording is dropped and the step runs as is */
        s->capture_broken = 1;
        return NULL;
    }
    if (*buf && s->recordings) { /* a recording may still use it: keep it until the call ends */
        if (s->n_retired == RETIRED_MAX) {
            x->status = host_of(x)->set_error(NT5_ERR_INTERNAL, "too many scratch buffers outgrown in one call");
            return NULL;
        }
        s->retired[s->n_retired++] = *buf;
    } else if (*buf) {
        cudaFreeAsync(*buf, s->stream);
    }
    *buf = NULL;
    *cap = 0;
    if (failed(x, cudaMallocAsync(buf, bytes, s->stream), "allocating scratch")) return NULL;
    *cap = bytes;
    return *buf;
}

static void cuda_upload_ints(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n) {
    if (x->status == NT5_OK && n)
        failed(x, cudaMemcpyAsync(dst, src, n * sizeof *src, cudaMemcpyHostToDevice, session_of(x)->stream), "upload");
}

static float *cuda_alloc(exec_ctx *x, size_t n) {
    void *p = NULL;
    if (x->status != NT5_OK || n == 0) return NULL;
    if (failed(x, cudaMallocAsync(&p, n * sizeof(float), session_of(x)->stream), "allocating a buffer")) return NULL;
    return p;
}

static void cuda_release(exec_ctx *x, float *p) {
    if (p) cudaFreeAsync(p, session_of(x)->stream);
}

static void cuda_upload(exec_ctx *x, float *dst, const float *src, size_t n) {
    if (x->status == NT5_OK)
        failed(x, cudaMemcpyAsync(dst, src, n * sizeof *src, cudaMemcpyHostToDevice, session_of(x)->stream), "upload");
}

/* synchronous: the caller reads dst next */
static void cuda_download(exec_ctx *x, float *dst, const float *src, size_t n) {
    cuda_session *s = session_of(x);
    if (x->status != NT5_OK) return;
    if (!failed(x, cudaMemcpyAsync(dst, src, n * sizeof *src, cudaMemcpyDeviceToHost, s->stream), "download"))
        failed(x, cudaStreamSynchronize(s->stream), "download");
}

/* ---- ops ---- */

static void cuda_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d) {
    if (x->status == NT5_OK)
        failed(x, nt5_cuda_embed(out, table->data, table->dtype, ldexpf(1.0f, table->weight_exp), ids, n, d,
                                 session_of(x)->stream),
               "embed");
}

static void cuda_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows,
                         size_t d, float eps, float scale) {
    if (x->status == NT5_OK)
        failed(x, nt5_cuda_rmsnorm(out, out_dtype, in, w, rows, d, eps, scale, session_of(x)->stream), "rmsnorm");
}

static void cuda_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in,
                                size_t ld_in, size_t M, size_t F, activation act, int gated) {
    if (x->status == NT5_OK)
        failed(x, nt5_cuda_ffn_activation(out, out_dtype, out_scale, in, ld_in, M, F, act, gated,
                                          session_of(x)->stream), "activation");
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
        x->status = host_of(x)->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    for (size_t b = 0; b < n; b++) host[b] = (int32_t)kv_valid[b];
    s->valid_n = 0; /* until the new lengths are queued */
    int32_t *dev = grow(x, (void **)&s->valid, &s->valid_cap, n * sizeof *host);
    if (!dev || failed(x, cudaMemcpyAsync(dev, host, n * sizeof *host, cudaMemcpyHostToDevice, s->stream), "upload")) {
        free(host);
        return NULL;
    }
    free(s->valid_host);
    s->valid_host = host;
    s->valid_n = n;
    return dev;
}

static void cuda_attention(exec_ctx *x, const attn_args *a) {
    if (x->status != NT5_OK) return;
    cuda_attention_args args = {.a = *a, .disabled = cb_of(x->be)->disabled, .tc_smem = cb_of(x->be)->tc_smem};
    if (a->kv_valid && !(args.kv_valid = valid_on_device(x, a->kv_valid, (a->batch + a->kv_group - 1) / a->kv_group)))
        return;
    args.log_ratio = position_log_ratio(a->bidirectional, a->num_buckets, a->max_distance);
    size_t partials = nt5_cuda_attention_partials(a, args.disabled);
    if (partials) {
        cuda_session *s = session_of(x);
        if (!(args.partials = grow(x, (void **)&s->partials, &s->partials_cap, partials * sizeof(float)))) return;
    }
    failed(x, nt5_cuda_attention(&args, session_of(x)->stream), "attention");
}

/* The session's device ids [rows] and log-probabilities [rows] of a pick,
 * then `extra` bytes (8-aligned), which it returns. */
static char *pick_buffers(exec_ctx *x, size_t rows, size_t extra, int32_t **ids, float **logprobs) {
    cuda_session *s = session_of(x);
    size_t picks = rows * (sizeof **ids + sizeof **logprobs);
    char *dev = grow(x, &s->picks, &s->picks_cap, picks + extra);
    if (!dev) return NULL;
    *ids = (int32_t *)dev;
    *logprobs = (float *)(dev + rows * sizeof **ids);
    return dev + picks;
}

/* The pick's ids and log-probabilities to the host, once its kernel (queued, e: its launch) ran. */
static void download_picks(exec_ctx *x, cudaError_t e, const char *what, const int32_t *dev_ids, const float *dev_lp,
                           size_t rows, int32_t *ids, float *logprobs) {
    cudaStream_t stream = session_of(x)->stream;
    if (failed(x, e, what) ||
        failed(x, cudaMemcpyAsync(ids, dev_ids, rows * sizeof *ids, cudaMemcpyDeviceToHost, stream), "download") ||
        failed(x, cudaMemcpyAsync(logprobs, dev_lp, rows * sizeof *logprobs, cudaMemcpyDeviceToHost, stream),
               "download"))
        return;
    failed(x, cudaStreamSynchronize(stream), what);
}

static void cuda_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids,
                             float *logprobs) {
    int32_t *dev_ids;
    float *dev_lp;
    if (x->status != NT5_OK || rows == 0 || !pick_buffers(x, rows, 0, &dev_ids, &dev_lp)) return;
    download_picks(x, nt5_cuda_greedy_pick(logits, rows, V, dev_ids, dev_lp, session_of(x)->stream), "greedy pick",
                   dev_ids, dev_lp, rows, ids, logprobs);
}

static void cuda_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                             const double *u, int32_t *ids, float *logprobs) {
    cuda_session *s = session_of(x);
    int32_t *dev_ids;
    float *dev_lp;
    double *dev_u; /* [rows] the draws */
    if (x->status != NT5_OK || rows == 0 ||
        !(dev_u = (double *)pick_buffers(x, rows, rows * sizeof *u, &dev_ids, &dev_lp)) ||
        failed(x, cudaMemcpyAsync(dev_u, u, rows * sizeof *u, cudaMemcpyHostToDevice, s->stream), "upload"))
        return;
    download_picks(x, nt5_cuda_sample_pick(logits, rows, V, o->temperature, o->top_k, o->top_p, dev_u, dev_ids, dev_lp,
                                           s->stream), "sampling", dev_ids, dev_lp, rows, ids, logprobs);
}

static void cuda_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                                 lp_candidate *out) {
    cuda_session *s = session_of(x);
    if (x->status != NT5_OK || rows == 0 || n == 0) return;
    /* device: base [rows], scores [rows, n], tokens [rows, n]; host: the same, then merged into out */
    size_t floats = rows + rows * n, bytes = floats * sizeof(float) + rows * n * sizeof(int32_t);
    char *dev = grow(x, &s->picks, &s->picks_cap, bytes);
    char *host = malloc(bytes);
    if (!host) x->status = host_of(x)->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (!dev || !host) {
        free(host);
        return;
    }
    float *dev_base = (float *)dev, *dev_scores = dev_base + rows;
    int32_t *dev_tokens = (int32_t *)(dev + floats * sizeof(float));
    float *scores = (float *)host + rows;
    int32_t *tokens = (int32_t *)(host + floats * sizeof(float));
    if (!failed(x, cudaMemcpyAsync(dev_base, base, rows * sizeof *base, cudaMemcpyHostToDevice, s->stream), "upload") &&
        !failed(x, nt5_cuda_beam_candidates(logits, rows, V, dev_base, n, dev_scores, dev_tokens, s->stream), "beam") &&
        !failed(x, cudaMemcpyAsync(host + rows * sizeof(float), dev_scores, bytes - rows * sizeof(float),
                                   cudaMemcpyDeviceToHost, s->stream), "download") &&
        !failed(x, cudaStreamSynchronize(s->stream), "beam"))
        for (size_t i = 0; i < rows * n; i++) out[i] = (lp_candidate){scores[i], tokens[i], (int32_t)(i / n)};
    free(host);
}

static void cuda_zero(exec_ctx *x, float *p, size_t n) {
    if (x->status == NT5_OK && n)
        failed(x, cudaMemsetAsync(p, 0, n * sizeof *p, session_of(x)->stream), "zero");
}

/* f32 as is; bf16/f16 cast on the GPU (into dst, or a scratch buffer then copied to the host) */
static void cuda_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n) {
    cuda_session *s = session_of(x);
    if (x->status != NT5_OK || n == 0) return;
    const void *from = src;
    size_t bytes = n * (dtype == NT5_DTYPE_F32 ? 4 : 2);
    if (dtype != NT5_DTYPE_F32) {
        uint16_t *half = on_device ? dst : grow(x, (void **)&s->bf16_in, &s->bf16_cap, bytes);
        if (!half || failed(x, nt5_cuda_to_half(half, src, n, 1, n, dtype, 1.0f, s->stream), "output cast")) return;
        from = half;
        if (on_device) return;
    }
    if (failed(x, cudaMemcpyAsync(dst, from, bytes, on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost,
                                  s->stream), "output copy"))
        return;
    if (!on_device) failed(x, cudaStreamSynchronize(s->stream), "output copy");
}

static void cuda_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos,
                             const float *src, size_t ld_src, size_t batch, size_t cols) {
    if (x->status == NT5_OK)
        failed(x, nt5_cuda_append_rows(dst, block_stride, ld_dst, pos, src, ld_src, batch, cols,
                                       session_of(x)->stream), "cache append");
}

/* ---- recorded decoding steps: CUDA graphs ----
 * The first call of a slot runs the step as is (it sizes every scratch
 * buffer), the second is captured into a graph and launched, later calls
 * launch the graph: one launch instead of a few hundred. A step that cannot
 * be captured (a buffer would move, an upload) runs as is from then on. */

typedef struct cuda_recording {
    int calls, unrecordable;
    cudaGraphExec_t exec;
} cuda_recording;

/* Captures body into r->exec; cudaSuccess when the graph is ready (nothing has run yet). */
static cudaError_t record(exec_ctx *x, cuda_recording *r, void (*body)(exec_ctx *x, void *ctx), void *ctx) {
    cuda_session *s = session_of(x);
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamBeginCapture(s->stream, cudaStreamCaptureModeThreadLocal);
    if (e != cudaSuccess) return e;
    s->capturing = 1;
    s->capture_broken = 0;
    body(x, ctx);
    s->capturing = 0;
    e = cudaStreamEndCapture(s->stream, &graph);
    if (e == cudaSuccess && (x->status != NT5_OK || s->capture_broken)) e = cudaErrorStreamCaptureInvalidated;
    if (e == cudaSuccess) e = cudaGraphInstantiate(&r->exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (e != cudaSuccess) r->exec = NULL;
    return e;
}

static void cuda_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx) {
    cuda_session *s = session_of(x);
    if (x->status != NT5_OK) return;
    cuda_recording *r = *slot;
    if (cb_of(x->be)->disabled & CUDA_OFF_GRAPHS) {
        body(x, ctx);
        return;
    }
    if (!r && !(r = *slot = calloc(1, sizeof *r))) {
        body(x, ctx); /* no memory for the bookkeeping: run as is */
        return;
    }
    if (!r->exec && (r->unrecordable || r->calls++ == 0)) {
        body(x, ctx);
        return;
    }
    if (!r->exec) {
        if (record(x, r, body, ctx) != cudaSuccess) {
            cudaGetLastError();
            x->status = NT5_OK; /* what failed was the capture, and nothing ran: run the step as is */
            r->unrecordable = 1;
            body(x, ctx);
            return;
        }
        s->recordings++;
    }
    failed(x, cudaGraphLaunch(r->exec, s->stream), "replaying a decoding step");
}

static void cuda_free_recorded(exec_ctx *x, void *slot) {
    cuda_recording *r = slot;
    if (!r) return;
    if (r->exec) {
        cuda_session *s = session_of(x);
        failed(x, cudaStreamSynchronize(s->stream), "decoding");
        cudaGraphExecDestroy(r->exec);
        s->recordings--;
    }
    free(r);
}

static void cuda_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count,
                               size_t block_elems, size_t stride) {
    if (x->status == NT5_OK)
        failed(x, nt5_cuda_gather_blocks(dst, src, index, count, block_elems, stride, session_of(x)->stream),
               "gather");
}

/* ---- products through cuBLASLt ----
 * out[M, N] row-major is column-major out^T [N, M] = W (column-major [K, N],
 * transposed) times in^T (column-major [K, M]). */

static void plan_destroy(lt_plan *p) {
    if (!p->used) return;
    cublasLtMatrixLayoutDestroy(p->a);
    cublasLtMatrixLayoutDestroy(p->b);
    cublasLtMatrixLayoutDestroy(p->c);
    cublasLtMatmulDescDestroy(p->op);
    p->used = 0;
}

static cudaDataType_t lt_type(int32_t dtype) {
    return dtype == NT5_DTYPE_BF16 ? CUDA_R_16BF : dtype == NT5_DTYPE_F16 ? CUDA_R_16F : CUDA_R_32F;
}

static cublasStatus_t plan_build(cuda_backend *cb, lt_plan *p) {
    cudaDataType_t ab = lt_type(p->dtype);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epilogue = p->relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT;
    size_t ld_b = p->dtype == NT5_DTYPE_F32 ? p->ld_in : p->K; /* 16-bit inputs are cast into a dense buffer */
    cublasComputeType_t compute = p->dtype == NT5_DTYPE_F32 && cb->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                         : CUBLAS_COMPUTE_32F;
    cublasStatus_t s = cublasLtMatmulDescCreate(&p->op, compute, CUDA_R_32F);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    p->used = 1;
    p->a = p->b = p->c = NULL;
    if ((s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) ||
        (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) ||
        (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue)) ||
        (s = cublasLtMatrixLayoutCreate(&p->a, ab, p->K, p->N, (int64_t)p->K)) ||
        (s = cublasLtMatrixLayoutCreate(&p->b, ab, p->K, p->M, (int64_t)ld_b)) ||
        (s = cublasLtMatrixLayoutCreate(&p->c, lt_type(p->out_dtype), p->N, p->M, (int64_t)p->ld_out)))
        return s;
    cublasLtMatmulPreference_t pref = NULL;
    size_t ws = WORKSPACE_BYTES;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    s = cublasLtMatmulPreferenceCreate(&pref);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (!s) s = cublasLtMatmulAlgoGetHeuristic(cb->lt, p->op, p->a, p->b, p->c, p->c, pref, 1, &result, &found);
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (!s && found == 0) s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (!s) p->algo = result.algo;
    return s;
}

/* The cached plan for this shape (built on first use); the lock is held. */
static cublasStatus_t plan_for(cuda_backend *cb, const lt_plan *key, lt_plan **out) {
    for (size_t i = 0; i < PLAN_CACHE; i++) {
        lt_plan *p = &cb->plans[i];
        if (p->used && p->M == key->M && p->N == key->N && p->K == key->K && p->ld_in == key->ld_in &&
            p->ld_out == key->ld_out && p->dtype == key->dtype && p->out_dtype == key->out_dtype &&
            p->accumulate == key->accumulate && p->relu == key->relu) {
            *out = p;
            return CUBLAS_STATUS_SUCCESS;
        }
    }
    lt_plan *slot = &cb->plans[cb->next_plan++ % PLAN_CACHE];
    plan_destroy(slot);
    *slot = *key;
    cublasStatus_t s = plan_build(cb, slot);
    if (s != CUBLAS_STATUS_SUCCESS) plan_destroy(slot);
    *out = slot;
    return s;
}

/* out[M, N] (stride ld_out, in out_dtype) (+)= in @ w^T, with ReLU when
 * relu, times out_scale: backend.h linear and linear_relu. */
static void product(exec_ctx *x, void *out, int32_t out_dtype, size_t ld_out, float out_scale, const void *in,
                    int32_t in_dtype, size_t ld_in, const wmat *w, size_t M, size_t N, size_t K, int accumulate,
                    int relu) {
    if (x->status != NT5_OK || M == 0) return;
    cuda_backend *cb = cb_of(x->be);
    cuda_session *s = session_of(x);
    const void *b = in;
    if (in_dtype != NT5_DTYPE_F32 && (in_dtype != w->dtype || ld_in != K)) {
        x->status = host_of(x)->set_error(NT5_ERR_INTERNAL, "a %s input for a %s product", in_dtype == NT5_DTYPE_F16
                                          ? "f16" : "bf16", w->dtype == NT5_DTYPE_F32 ? "f32" : "16-bit");
        return;
    }
    /* f16: the input divided by 2^input_exp, the product multiplied back by 2^(weight_exp + input_exp), exactly */
    int in_exp = w->dtype == NT5_DTYPE_F16 && w->input_exp > 0 ? w->input_exp : 0;
    if (w->dtype != NT5_DTYPE_F32 && in_dtype == NT5_DTYPE_F32) {
        uint16_t *cast = grow(x, (void **)&s->bf16_in, &s->bf16_cap, M * K * sizeof(uint16_t));
        if (!cast || failed(x, nt5_cuda_to_half(cast, in, ld_in, M, K, w->dtype, ldexpf(1.0f, -in_exp), s->stream),
                            "cast of a product's input"))
            return;
        b = cast;
    }
    lt_plan key = {.M = M, .N = N, .K = K, .ld_in = ld_in, .ld_out = ld_out, .dtype = w->dtype,
                   .out_dtype = out_dtype, .accumulate = accumulate, .relu = relu};
    /* ReLU commutes with the positive power-of-two scales */
    float alpha = ldexpf(1.0f, w->weight_exp + in_exp) * out_scale, beta = accumulate ? 1.0f : 0.0f;
    /* under the lock: another thread may replace a cached plan once the call is queued */
    pthread_mutex_lock(&cb->lock);
    lt_plan *plan = NULL;
    cublasStatus_t st = plan_for(cb, &key, &plan);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmul(cb->lt, plan->op, &alpha, w->data, plan->a, b, plan->b, &beta, out, plan->c, out, plan->c,
                            &plan->algo, s->workspace, WORKSPACE_BYTES, s->stream);
    pthread_mutex_unlock(&cb->lock);
    lt_failed(x, st, "matmul");
}

static void cuda_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in,
                        const wmat *w, size_t M, size_t N, size_t K, int accumulate) {
    product(x, out, NT5_DTYPE_F32, ld_out, 1.0f, in, in_dtype, ld_in, w, M, N, K, accumulate, 0);
}

/* cuBLASLt's ReLU epilogue writing the next product's input; with
 * NT5_CUDA_DISABLE=relu-epilogue an fp32 product, then the activation kernel */
static void cuda_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in,
                             int32_t in_dtype, size_t ld_in, const wmat *w, size_t M, size_t N, size_t K) {
    if (!(cb_of(x->be)->disabled & CUDA_OFF_RELU_EPILOGUE)) {
        product(x, out, out_dtype, N, out_scale, in, in_dtype, ld_in, w, M, N, K, 0, 1);
        return;
    }
    float *wide = cuda_alloc(x, M * N);
    product(x, wide, NT5_DTYPE_F32, N, 1.0f, in, in_dtype, ld_in, w, M, N, K, 0, 0);
    cuda_ffn_activation(x, out, out_dtype, out_scale, wide, N, M, N, ACT_RELU, 0);
    cuda_release(x, wide);
}

/* ---- the backend ---- */

static void cuda_destroy(backend *be) {
    cuda_backend *cb = cb_of(be);
    cudaSetDevice(cb->device);
    while (cb->idle) {
        cuda_session *s = cb->idle;
        cb->idle = s->next;
        session_free(s);
    }
    for (size_t i = 0; i < PLAN_CACHE; i++) plan_destroy(&cb->plans[i]);
    cublasLtDestroy(cb->lt);
    pthread_mutex_destroy(&cb->lock);
    free(cb);
}

static int cuda_threads(const backend *be) {
    (void)be;
    return 0;
}

static const backend_ops cuda_ops = {
    .name = "cuda",
    .device = NT5_DEVICE_CUDA,
    .computes_in_weight_dtype = 1,
    .destroy = cuda_destroy,
    .threads = cuda_threads,
    .adopt_weight = cuda_adopt_weight,
    .free_weight = cuda_free_weight,
    .read_weight = cuda_read_weight,
    .reserve = cuda_reserve,
    .exec_begin = cuda_exec_begin,
    .exec_end = cuda_exec_end,
    .alloc = cuda_alloc,
    .release = cuda_release,
    .upload = cuda_upload,
    .upload_ints = cuda_upload_ints,
    .download = cuda_download,
    .run_recorded = cuda_run_recorded,
    .free_recorded = cuda_free_recorded,
    .embed = cuda_embed,
    .rmsnorm = cuda_rmsnorm,
    .linear = cuda_linear,
    .linear_relu = cuda_linear_relu,
    .ffn_activation = cuda_ffn_activation,
    .attention = cuda_attention,
    .greedy_pick = cuda_greedy_pick,
    .sample_pick = cuda_sample_pick,
    .beam_candidates = cuda_beam_candidates,
    .zero = cuda_zero,
    .store = cuda_store,
    .append_rows = cuda_append_rows,
    .gather_blocks = cuda_gather_blocks,
};

/* CUDA_OFF_* of NT5_CUDA_DISABLE ("graphs,tc-attention", ...); unknown names are ignored. */
static unsigned disabled_paths(void) {
    static const struct {
        const char *name;
        unsigned bit;
    } paths[] = {{"graphs", CUDA_OFF_GRAPHS}, {"tc-attention", CUDA_OFF_TC_ATTENTION},
                 {"split-attention", CUDA_OFF_SPLIT_ATTENTION}, {"relu-epilogue", CUDA_OFF_RELU_EPILOGUE}};
    const char *env = getenv("NT5_CUDA_DISABLE");
    unsigned bits = 0;
    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ",");
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            if (strlen(paths[i].name) == n && strncmp(p, paths[i].name, n) == 0) bits |= paths[i].bit;
        p += n + (p[n] == ',');
    }
    return bits;
}

/* Checks the device and keeps freed pool memory for reuse. */
static nt5_status check_device(const cuda_host *host, int device) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return host->set_error(NT5_ERR_NO_DEVICE, "no usable CUDA device: %s (%s)", cudaGetErrorString(e),
                               cudaGetErrorName(e));
    }
    if (device < 0 || device >= count)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d: this machine has %d CUDA device%s", device, count,
                               count == 1 ? "" : "s");
    struct cudaDeviceProp prop;
    if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d: %s", device, cudaGetErrorString(e));
    if (prop.major < 8)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d (%s) has compute capability %d.%d; nt5's CUDA backend "
                               "needs 8.0 or newer", device, prop.name, prop.major, prop.minor);
    if ((e = cudaSetDevice(device)) != cudaSuccess)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d: %s", device, cudaGetErrorString(e));
    cudaMemPool_t pool;
    uint64_t keep = UINT64_MAX;
    if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess)
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    return NT5_OK;
}

__attribute__((visibility("default"))) const int nt5_cuda_module_api = NT5_CUDA_MODULE_API;

__attribute__((visibility("default"))) nt5_status nt5_cuda_module_create(int api, const cuda_host *host, int device,
                                                                         int allow_tf32, backend **out) {
    *out = NULL;
    if (api != NT5_CUDA_MODULE_API)
        return host->set_error(NT5_ERR_UNSUPPORTED, "libnt5-cuda.so speaks module API %d, libnt5 %d: install matching "
                               "versions", NT5_CUDA_MODULE_API, api);
    nt5_status st = check_device(host, device);
    if (st != NT5_OK) return st;
    cuda_backend *cb = calloc(1, sizeof *cb);
    if (!cb) return host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    cb->base.ops = &cuda_ops;
    cb->host = host;
    cb->device = device;
    cb->tf32 = allow_tf32;
    cb->disabled = disabled_paths();
    cb->tc_smem = nt5_cuda_attention_tc_setup(); /* check_device made the device current */
    pthread_mutex_init(&cb->lock, NULL);
    cublasStatus_t s = cublasLtCreate(&cb->lt);
    if (s != CUBLAS_STATUS_SUCCESS) {
        pthread_mutex_destroy(&cb->lock);
        free(cb);
        return host->set_error(NT5_ERR_DEVICE, "cuBLASLt could not start (status %d)", (int)s);
    }
    *out = &cb->base;
    return NT5_OK;
}
