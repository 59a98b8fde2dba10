/* The CUDA backend, from the module libnt5-cuda.so (kernels/), loaded on
 * first use so that libnt5 itself links no CUDA library. */
#ifndef NT5_IMPL_CUDA_LOADER_H
#define NT5_IMPL_CUDA_LOADER_H

#include "backend/backend.h"

/* The CUDA backend on GPU `device`, its f32 products in TF32 when
 * allow_tf32; NT5_ERR_NO_DEVICE with the reason when there is none to be
 * had, NT5_ERR_DEVICE when the module does not match this libnt5. */
nt5_status cuda_backend_create(int device, int allow_tf32, backend **out);
/* Whether this machine has an NVIDIA driver (cheap; loads nothing). */
int cuda_driver_present(void);

#endif
