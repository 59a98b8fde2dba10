/* The contract between libnt5 and its CUDA module, libnt5-cuda.so, which
 * libnt5 loads with dlopen when a GPU is asked for (so libnt5 itself needs
 * no CUDA library; see impl/cuda_loader.c). Both are built from the same
 * tree; the module refuses a different NT5_CUDA_MODULE_API. */
#ifndef NT5_KERNELS_CUDA_MODULE_H
#define NT5_KERNELS_CUDA_MODULE_H

#include "backend/backend.h"

#define NT5_CUDA_MODULE_API 2
#define NT5_CUDA_MODULE_ENTRY "nt5_cuda_module_create"
/* an exported const int holding the module's NT5_CUDA_MODULE_API, read
 * before the entry is called (whose signature depends on it) */
#define NT5_CUDA_MODULE_API_SYMBOL "nt5_cuda_module_api"

/* What the module may call back into libnt5 for. */
typedef struct cuda_host {
    /* sets the thread-local message of nt5_last_error() and returns status */
    nt5_status (*set_error)(nt5_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
} cuda_host;

/* The module's one exported function: a CUDA backend on GPU `device` (f32
 * products in TF32 when allow_tf32), or NT5_ERR_NO_DEVICE (no driver, no
 * such device, compute capability below 8.0) / NT5_ERR_UNSUPPORTED (api
 * mismatch) with the reason set. */
typedef nt5_status (*cuda_module_create_fn)(int api, const cuda_host *host, int device, int allow_tf32,
                                            backend **out);

#endif
