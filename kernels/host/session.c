/* The CUDA backend's calls and memory: each API call takes a session (a
 * stream, a cuBLASLt workspace and small scratch buffers) from the
 * backend's pool, so threads sharing a model never share a stream. Buffers
 * come from the model's own stream-ordered memory pool, which keeps freed
 * memory for reuse until the model is freed (other CUDA code in the process
 * keeps the device's default pool to itself). Weights live in plain device
 * allocations. */
#include "kernels/host/session.h"

#include <stdlib.h>
#include <string.h>

/* Errors of newer toolkits that also end the context, by number so that
 * older toolkits build this file: cudaErrorContained, cudaErrorTensorMemoryLeak
 * and cudaErrorExternalDevice. */
enum { ERROR_CONTAINED = 226, ERROR_TENSOR_MEMORY_LEAK = 721, ERROR_EXTERNAL_DEVICE = 911 };

/* Errors after which the CUDA context cannot be used again: CUDA's
 * documentation says every allocation is then invalid and the process must
 * be restarted to use CUDA again. */
static int sticky(cudaError_t e) {
    switch ((int)e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case ERROR_CONTAINED:
    case ERROR_TENSOR_MEMORY_LEAK:
    case ERROR_EXTERNAL_DEVICE: return 1;
    default: return 0;
    }
}

/* An error outside a call: a sticky one marks the backend lost, any other
 * is cleared so the model stays usable. 1 when sticky. */
static int settle(cuda_backend *cb, cudaError_t e) {
    if (sticky(e)) {
        atomic_store(&cb->lost, 1);
        return 1;
    }
    cudaGetLastError();
    return 0;
}

/* a sticky error e: the backend is marked lost and the call's status says so */
static void lose_device(exec_ctx *x, cudaError_t e) {
    cuda_backend *cb = backend_of(x);
    atomic_store(&cb->lost, 1);
    if (x->status == NT5_OK)
        x->status = cb->host->set_error(NT5_ERR_DEVICE,
                                        "the GPU (cuda:%d) failed with %s (%s), which ends CUDA in this "
                                        "process: GPU work needs a new process (models on the CPU still work)",
                                        cb->device, cudaGetErrorString(e), cudaGetErrorName(e));
}

/* A failure while a step is recorded drops the recording, and the step
 * then runs as is (graphs.c): the call's status stops the step's body, and
 * no message is left behind for a call that may still succeed. */
static int failed_in_capture(exec_ctx *x) {
    cuda_session *s = session_of(x);
    if (!s->capturing) return 0;
    s->capture_broken = 1;
    if (x->status == NT5_OK) x->status = NT5_ERR_DEVICE;
    return 1;
}

int cuda_failed(exec_ctx *x, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return x->status != NT5_OK;
    if (sticky(e)) {
        lose_device(x, e);
        return 1;
    }
    if (!failed_in_capture(x) && x->status == NT5_OK)
        x->status = backend_of(x)->host->set_error(e == cudaErrorMemoryAllocation ? NT5_ERR_OUT_OF_MEMORY
                                                                                  : NT5_ERR_DEVICE,
                                                   "CUDA %s: %s (%s)", what, cudaGetErrorString(e),
                                                   cudaGetErrorName(e));
    cudaGetLastError(); /* clear a non-sticky error so the model stays usable */
    return 1;
}

int cuda_lt_failed(exec_ctx *x, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return x->status != NT5_OK;
    cudaError_t e = cudaPeekAtLastError(); /* a failed product may be a lost context's */
    if (sticky(e)) {
        lose_device(x, e);
        return 1;
    }
    cudaGetLastError(); /* a non-sticky error of the product: cleared, so the next launch check is not its */
    if (!failed_in_capture(x) && x->status == NT5_OK)
        x->status = backend_of(x)->host->set_error(s == CUBLAS_STATUS_ALLOC_FAILED ? NT5_ERR_OUT_OF_MEMORY
                                                                                   : NT5_ERR_DEVICE,
                                                   "cuBLASLt %s: status %d", what, (int)s);
    return 1;
}

/* ---- the caller's device ---- */

int current_device(void) {
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return device;
}

int enter_device(const cuda_backend *cb) {
    int previous = current_device();
    if (previous < 0 || cudaSetDevice(cb->device) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return previous;
}

void leave_device(int previous) {
    if (previous >= 0 && cudaSetDevice(previous) != cudaSuccess) cudaGetLastError();
}

/* ---- weights ---- */

/* The copy is waited for on its stream: a copy from pageable memory may
 * return before the data has reached the device, and the sessions' streams
 * (non-blocking) would not wait for the default stream. */
void *cuda_adopt_weight(backend *be, void *host, size_t bytes) {
    cuda_backend *cb = cuda_of(be);
    void *dev = NULL;
    int previous = enter_device(cb);
    cudaError_t e = previous < 0 ? cudaErrorInvalidDevice : cudaMalloc(&dev, bytes ? bytes : 1);
    if (e == cudaSuccess) e = cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, cudaStreamPerThread);
    if (e == cudaSuccess) e = cudaStreamSynchronize(cudaStreamPerThread);
    if (e != cudaSuccess) {
        settle(cb, e);
        cudaFree(dev);
        dev = NULL;
    }
    leave_device(previous);
    free(host);
    return dev;
}

void cuda_free_weight(backend *be, void *w) {
    int previous = enter_device(cuda_of(be));
    cudaFree(w);
    leave_device(previous);
}

nt5_status cuda_read_weight(const backend *be, void *host, const void *w, size_t bytes) {
    cuda_backend *cb = cuda_of(be);
    int previous = enter_device(cb);
    cudaError_t e = previous < 0 ? cudaErrorInvalidDevice : cudaMemcpy(host, w, bytes, cudaMemcpyDeviceToHost);
    leave_device(previous);
    if (e == cudaSuccess) return NT5_OK;
    settle(cb, e);
    return cb->host->set_error(NT5_ERR_DEVICE, "CUDA: cannot read a weight back from cuda:%d: %s (%s)", cb->device,
                               cudaGetErrorString(e), cudaGetErrorName(e));
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

/* The model's pool keeps what is freed into it (backend.c). */
void cuda_reserve(backend *be, size_t bytes) {
    void *p = NULL;
    int previous = enter_device(cuda_of(be));
    if (previous >= 0 && cudaMallocFromPoolAsync(&p, bytes, cuda_of(be)->pool, cudaStreamPerThread) == cudaSuccess)
        cudaFreeAsync(p, cudaStreamPerThread);
    cudaStreamSynchronize(cudaStreamPerThread);
    cudaGetLastError(); /* best effort: a failure leaves nothing behind */
    leave_device(previous);
}

/* A session from the pool, or a new one. */
nt5_status cuda_exec_begin(const backend *be, exec_ctx *x) {
    cuda_backend *cb = cuda_of(be);
    if (atomic_load(&cb->lost))
        return cb->host->set_error(NT5_ERR_DEVICE,
                                   "the GPU (cuda:%d) failed in an earlier call, which ended CUDA in this "
                                   "process: GPU work needs a new process",
                                   cb->device);
    int caller = current_device(); /* the device is per thread: given back at the end */
    cudaError_t e = cudaSetDevice(cb->device);
    if (e != cudaSuccess) {
        leave_device(caller);
        return device_error(cb, e);
    }
    e = cudaGetLastError(); /* left by the caller's CUDA code: not this call's launches' */
    if (settle(cb, e)) {
        leave_device(caller);
        return cb->host->set_error(NT5_ERR_DEVICE,
                                   "the GPU (cuda:%d) had failed with %s (%s) before this call, which ends CUDA "
                                   "in this process: GPU work needs a new process",
                                   cb->device, cudaGetErrorString(e), cudaGetErrorName(e));
    }
    pthread_mutex_lock(&cb->lock);
    cuda_session *s = cb->idle;
    if (s) cb->idle = s->next;
    pthread_mutex_unlock(&cb->lock);
    if (!s) {
        if (!(s = calloc(1, sizeof *s))) {
            leave_device(caller);
            return cb->host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        }
        s->cb = cb;
        e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking);
        if (e == cudaSuccess) e = cudaMalloc(&s->workspace, WORKSPACE_BYTES);
        if (e != cudaSuccess) {
            cuda_session_free(s);
            leave_device(caller);
            return device_error(cb, e);
        }
    }
    s->caller_device = caller;
    x->scratch = s;
    return NT5_OK;
}

void cuda_resume(exec_ctx *x) {
    cuda_session *s = session_of(x);
    if (cuda_failed(x, cudaSetDevice(s->cb->device), "making the model's device current after a callback")) return;
    cudaError_t e = cudaGetLastError(); /* left by the callback's CUDA code */
    if (sticky(e)) lose_device(x, e);
}

nt5_status cuda_exec_end(exec_ctx *x) {
    cuda_session *s = session_of(x);
    cuda_backend *cb = s->cb;
    for (; s->n_retired > 0; s->n_retired--) cudaFreeAsync(s->retired[s->n_retired - 1], s->stream);
    if (s->recordings != 0 && x->status == NT5_OK) /* every recording is freed before its call ends */
        x->status = cb->host->set_error(NT5_ERR_INTERNAL, "a decoding step's recording outlived its call");
    s->recordings = 0;
    cuda_failed(x, cudaStreamSynchronize(s->stream), "call");
    leave_device(s->caller_device);
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
    if (cuda_failed(x, cudaMallocFromPoolAsync(buf, bytes, s->cb->pool, s->stream), "allocating scratch")) return NULL;
    *cap = bytes;
    return *buf;
}

/* ---- call memory ---- */

float *cuda_alloc(exec_ctx *x, size_t n) {
    void *p = NULL;
    cuda_session *s = session_of(x);
    if (cuda_failed(x, cudaMallocFromPoolAsync(&p, n * sizeof(float), s->cb->pool, s->stream), "allocating a buffer"))
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
