/* Shared between the CUDA backend's host files: the backend, its
 * per-call sessions, error recording and the ops each file defines for the
 * table (backend.c). Device code is in kernels/device/, reached through
 * kernels/device/launch.h. */
#ifndef NT5_KERNELS_INTERNAL_H
#define NT5_KERNELS_INTERNAL_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <pthread.h>

#include "backend/backend.h"
#include "backend/cuda_module.h"
#include "kernels/host/plans.h"

#define RETIRED_MAX 16

typedef struct cuda_backend cuda_backend;

/* Per-call state: reused by later calls once returned to the pool. */
typedef struct cuda_session {
    cuda_backend *cb;           /* the backend it belongs to */
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

struct cuda_backend {
    backend base;
    const cuda_host *host;
    int device;
    int tf32;             /* f32 products in TF32 (nt5_model_options.allow_tf32) */
    unsigned disabled;    /* CUDA_OFF_* from NT5_CUDA_DISABLE (kernels/device/launch.h) */
    size_t tc_smem;       /* nt5_cuda_attention_tc_setup() */
    pthread_mutex_t lock; /* the session pool */
    cuda_session *idle;
    plan_cache plans;     /* cuBLASLt plans by product shape */
};

static inline cuda_backend *cuda_of(const backend *be) { return (cuda_backend *)be; }
/* The call's session (the backend's exec_begin put it in x->scratch). */
static inline cuda_session *session_of(const exec_ctx *x) { return x->scratch; }
static inline cuda_backend *backend_of(const exec_ctx *x) { return session_of(x)->cb; }

/* Records the first failure of a call (the status by e) and clears a
 * non-sticky CUDA error; 1 when e or an earlier op failed. */
int cuda_failed(exec_ctx *x, cudaError_t e, const char *what);
/* cuda_failed for a cuBLASLt status */
int cuda_lt_failed(exec_ctx *x, cublasStatus_t s, const char *what);

/* session.c: sessions, call memory, weights */
nt5_status cuda_exec_begin(const backend *be, exec_ctx *x);
nt5_status cuda_exec_end(exec_ctx *x);
void cuda_session_free(cuda_session *s);
void cuda_reserve(backend *be, size_t bytes);
/* A session buffer of at least `bytes`, grown on the call's stream (NULL
 * on failure, or while a step is being recorded: the recording is then
 * dropped). */
void *cuda_grow(exec_ctx *x, void **buf, size_t *cap, size_t bytes);
float *cuda_alloc(exec_ctx *x, size_t n);
void cuda_release(exec_ctx *x, float *p);
void cuda_upload(exec_ctx *x, float *dst, const float *src, size_t n);
void cuda_upload_ints(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n);
void cuda_download(exec_ctx *x, float *dst, const float *src, size_t n);
void *cuda_adopt_weight(backend *be, void *host, size_t bytes);
void cuda_free_weight(backend *be, void *w);
void cuda_read_weight(const backend *be, void *host, const void *w, size_t bytes);

/* graphs.c: decoding steps recorded as CUDA graphs */
void cuda_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx);
void cuda_free_recorded(exec_ctx *x, void *slot);

/* products.c: matrix products through cuBLASLt */
void cuda_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in,
                 const wmat *w, size_t M, size_t N, size_t K, int accumulate);
void cuda_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                      size_t ld_in, const wmat *w, size_t M, size_t N, size_t K);

/* ops.c: the other ops, each launching its kernels */
void cuda_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
void cuda_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows,
                  size_t d, float eps, float scale);
void cuda_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in,
                         size_t ld_in, size_t M, size_t F, activation act, int gated);
void cuda_attention(exec_ctx *x, const attn_args *a);
void cuda_zero(exec_ctx *x, float *p, size_t n);
void cuda_store(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n);
void cuda_append_rows(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos,
                      const float *src, size_t ld_src, size_t batch, size_t cols);
void cuda_gather_blocks(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count,
                        size_t block_elems, size_t stride);

/* picks.c: token choices, of which only ids and scores leave the GPU */
void cuda_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs);
void cuda_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                      const double *u, int32_t *ids, float *logprobs);
void cuda_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                          beam_candidate *out);

#endif
