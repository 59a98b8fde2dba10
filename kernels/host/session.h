/* The CUDA backend's calls and memory: error recording, sessions (a
 * stream, a cuBLASLt workspace and scratch buffers per call), buffers and
 * weights. */
#ifndef NT5_KERNELS_SESSION_H
#define NT5_KERNELS_SESSION_H

#include "kernels/host/internal.h"

/* Records the first failure of a call (the status by e) and clears a
 * non-sticky CUDA error; 1 when e or an earlier op failed. */
int cuda_failed(exec_ctx *x, cudaError_t e, const char *what);
/* cuda_failed for a cuBLASLt status */
int cuda_lt_failed(exec_ctx *x, cublasStatus_t s, const char *what);
nt5_status cuda_exec_begin(const backend *be, exec_ctx *x);
nt5_status cuda_exec_end(exec_ctx *x);
/* Makes the model's device current again after a token callback. */
void cuda_resume(exec_ctx *x);
/* The calling thread's current device, -1 when CUDA cannot say. */
int current_device(void);
/* Makes cb's device current; the thread's device before (to give back with
 * leave_device), -1 on failure. */
int enter_device(const cuda_backend *cb);
void leave_device(int previous);
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
nt5_status cuda_read_weight(const backend *be, void *host, const void *w, size_t bytes);

#endif
