/* Shared between the CUDA backend's host files: the backend and its
 * per-call sessions. Device code is in kernels/device/, reached through
 * kernels/device/launch.h. */
#ifndef NT5_KERNELS_INTERNAL_H
#define NT5_KERNELS_INTERNAL_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdatomic.h>

#include "backend/backend.h"
#include "backend/cuda_module.h"
#include "kernels/host/plans.h"

#define RETIRED_MAX 16

typedef struct cuda_backend cuda_backend;

/* Per-call state: reused by later calls once returned to the pool. */
typedef struct cuda_session {
    cuda_backend *cb; /* the backend it belongs to */
    cudaStream_t stream;
    void *workspace;   /* [WORKSPACE_BYTES] for cuBLASLt */
    uint16_t *bf16_in; /* [bf16_cap] a product's input cast to bf16/f16, or an output cast */
    size_t bf16_cap;
    int32_t *valid; /* [valid_cap] attention's kv_valid, uploaded when it changes */
    size_t valid_cap, valid_n;
    int32_t *valid_host; /* [valid_n] what `valid` holds */
    void *picks;         /* [picks_cap] greedy ids and log-probabilities, or beam candidates */
    size_t picks_cap;
    float *partials; /* [partials_cap] attention's per-slice results */
    size_t partials_cap;
    int caller_device;          /* the calling thread's current device, given back at the call's end */
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
    unsigned tc_kernels;  /* attention_tc_setup() */
    atomic_int lost;      /* a sticky device error ended the CUDA context: every later call fails */
    cudaMemPool_t pool;   /* nt5's own stream-ordered pool: call memory, kept for reuse, trimmed at the end */
    pthread_mutex_t lock; /* the session pool */
    cuda_session *idle;
    plan_cache plans; /* cuBLASLt plans by product shape */
};

static inline cuda_backend *cuda_of(const backend *be) { return (cuda_backend *)be; }
/* The call's session (the backend's exec_begin put it in x->scratch). */
static inline cuda_session *session_of(const exec_ctx *x) { return x->scratch; }
static inline cuda_backend *backend_of(const exec_ctx *x) { return session_of(x)->cb; }

#endif
