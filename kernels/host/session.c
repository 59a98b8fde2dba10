/* The CUDA backend's calls and memory: each API call takes a session (a
 * stream, a cuBLASLt workspace and small scratch buffers) from the
 * backend's pool, so threads sharing a model never share a stream. Buffers
 * come from the device's stream-ordered memory pool, which keeps freed
 * memory for reuse. Weights live in plain device allocations. */
#include "kernels/host/session.h"

#include <stdlib.h>
#include <string.h>

int cuda_failed(exec_ctx *x, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return x->status != NT5_OK;
    if (x->status == NT5_OK)
        x->status = backend_of(x)->host->set_error(e == cudaErrorMemoryAllocation ? NT5_ERR_OUT_OF_MEMORY
                                                                                  : NT5_ERR_DEVICE,
                                                   "CUDA %s: %s (%s)", what, cudaGetErrorString(e),
                                                   cudaGetErrorName(e));
    cudaGetLastError(); /* clear a non-sticky error so the model stays usable */
    return 1;
}

int cuda_lt_failed(exec_ctx *x, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return x->status != NT5_OK;
    if (x->status == NT5_OK)
        x->status = backend_of(x)->host->set_error(s == CUBLAS_STATUS_ALLOC_FAILED ? NT5_ERR_OUT_OF_MEMORY
                                                                                   : NT5_ERR_DEVICE,
                                                   "cuBLASLt %s: status %d", what, (int)s);
    return 1;
}

/* ---- weights ---- */

void *cuda_adopt_weight(backend *be, void *host, size_t bytes) {
    void *dev = NULL;
    cudaSetDevice(cuda_of(be)->device);
    if (cudaMalloc(&dev, bytes ? bytes : 1) != cudaSuccess ||
        cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
        cudaGetLastError();
        cudaFree(dev);
        dev = NULL;
    }
    free(host);
    return dev;
}

void cuda_free_weight(backend *be, void *w) {
    cudaSetDevice(cuda_of(be)->device);
    cudaFree(w);
}

void cuda_read_weight(const backend *be, void *host, const void *w, size_t bytes) {
    cudaSetDevice(cuda_of(be)->device);
    cudaMemcpy(host, w, bytes, cudaMemcpyDeviceToHost);
}

/* ---- sessions ---- */

void cuda_session_free(cuda_session *s) {
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

/* The device's stream-ordered pool keeps what is freed into it (backend.c). */
void cuda_reserve(backend *be, size_t bytes) {
    void *p = NULL;
    if (cudaSetDevice(cuda_of(be)->device) == cudaSuccess &&
        cudaMallocAsync(&p, bytes, cudaStreamPerThread) == cudaSuccess)
        cudaFreeAsync(p, cudaStreamPerThread);
    cudaStreamSynchronize(cudaStreamPerThread);
    cudaGetLastError(); /* best effort: a failure leaves nothing behind */
}

/* A session from the pool, or a new one. */
nt5_status cuda_exec_begin(const backend *be, exec_ctx *x) {
    cuda_backend *cb = cuda_of(be);
    cudaError_t e = cudaSetDevice(cb->device); /* the device is per thread */
    if (e != cudaSuccess) return device_error(cb, e);
    pthread_mutex_lock(&cb->lock);
    cuda_session *s = cb->idle;
    if (s) cb->idle = s->next;
    pthread_mutex_unlock(&cb->lock);
    if (!s) {
        if (!(s = calloc(1, sizeof *s))) return cb->host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        s->cb = cb;
        e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking);
        if (e == cudaSuccess) e = cudaMalloc(&s->workspace, WORKSPACE_BYTES);
        if (e != cudaSuccess) {
            cuda_session_free(s);
            return device_error(cb, e);
        }
    }
    x->scratch = s;
    return NT5_OK;
}

nt5_status cuda_exec_end(exec_ctx *x) {
    cuda_session *s = session_of(x);
    cuda_backend *cb = s->cb;
    for (; s->n_retired > 0; s->n_retired--) cudaFreeAsync(s->retired[s->n_retired - 1], s->stream);
    cuda_failed(x, cudaStreamSynchronize(s->stream), "call");
    pthread_mutex_lock(&cb->lock);
    s->next = cb->idle;
    cb->idle = s;
    pthread_mutex_unlock(&cb->lock);
    x->scratch = NULL;
    return x->status;
}

void *cuda_grow(exec_ctx *x, void **buf, size_t *cap, size_t bytes) {
    if (*cap >= bytes) return *buf;
    cuda_session *s = session_of(x);
    if (s->capturing) { /* the recording is dropped and the step runs as is */
        s->capture_broken = 1;
        return NULL;
    }
    if (*buf && s->recordings) { /* a recording may still use it: keep it until the call ends */
        if (s->n_retired == RETIRED_MAX) {
            x->status = s->cb->host->set_error(NT5_ERR_INTERNAL, "too many scratch buffers outgrown in one call");
            return NULL;
        }
        s->retired[s->n_retired++] = *buf;
    } else if (*buf) {
        cudaFreeAsync(*buf, s->stream);
    }
    *buf = NULL;
    *cap = 0;
    if (cuda_failed(x, cudaMallocAsync(buf, bytes, s->stream), "allocating scratch")) return NULL;
    *cap = bytes;
    return *buf;
}

/* ---- call memory ---- */

float *cuda_alloc(exec_ctx *x, size_t n) {
    void *p = NULL;
    if (cuda_failed(x, cudaMallocAsync(&p, n * sizeof(float), session_of(x)->stream), "allocating a buffer"))
        return NULL;
    return p;
}

void cuda_release(exec_ctx *x, float *p) { cudaFreeAsync(p, session_of(x)->stream); }

void cuda_upload(exec_ctx *x, float *dst, const float *src, size_t n) {
    cuda_failed(x, cudaMemcpyAsync(dst, src, n * sizeof *src, cudaMemcpyHostToDevice, session_of(x)->stream), "upload");
}

void cuda_upload_ints(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n) {
    if (n)
        cuda_failed(x, cudaMemcpyAsync(dst, src, n * sizeof *src, cudaMemcpyHostToDevice, session_of(x)->stream),
                    "upload");
}

/* synchronous: the caller reads dst next */
void cuda_download(exec_ctx *x, float *dst, const float *src, size_t n) {
    cuda_session *s = session_of(x);
    if (!cuda_failed(x, cudaMemcpyAsync(dst, src, n * sizeof *src, cudaMemcpyDeviceToHost, s->stream), "download"))
        cuda_failed(x, cudaStreamSynchronize(s->stream), "download");
}
