/* The CPU backend: host memory, a thread pool, BLAS for matrix products;
 * fp32 arithmetic over f32 or bf16 weights. The reference backend. */
#ifndef NT5_IMPL_CPU_BACKEND_H
#define NT5_IMPL_CPU_BACKEND_H

#include "backend/backend.h"

/* A CPU backend with `threads` worker threads (0: all online cores). */
nt5_status cpu_backend_create(int threads, backend **out);

#endif
