/* Decoding steps recorded as CUDA graphs (backend.h run_recorded). */
#ifndef NT5_KERNELS_GRAPHS_H
#define NT5_KERNELS_GRAPHS_H

#include "kernels/host/internal.h"

void cuda_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx);
void cuda_free_recorded(exec_ctx *x, void *slot);

#endif
