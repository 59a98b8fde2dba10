/* Shared between the CPU backend's files: its state, the one check every
 * op that writes or reads a product input makes, and the layout of a
 * weight row. */
#ifndef NT5_IMPL_CPU_INTERNAL_H
#define NT5_IMPL_CPU_INTERNAL_H

#include "backend/backend.h"
#include "backend/cpu/cpu_pool.h"
#include "base/error.h"
#include "quant/block_type.h"

typedef struct cpu_backend {
    backend base;
    cpu_pool *pool;
} cpu_backend;

/* The pool of the backend running x (its exec_begin put the backend in x->scratch). */
static inline cpu_pool *cpu_pool_of(const exec_ctx *x) { return ((const cpu_backend *)x->scratch)->pool; }

/* The threads x's call works on: the pool's, or fewer (x->max_threads). */
static inline size_t cpu_threads(const exec_ctx *x) { return (size_t)pool_threads_for(cpu_pool_of(x), x->max_threads); }

/* pool_run() for x's call, on cpu_threads(x) threads */
static inline void cpu_run(const exec_ctx *x, size_t ntasks, pool_fn fn, void *ctx) {
    pool_run(cpu_pool_of(x), x->max_threads, ntasks, fn, ctx);
}

/* Whether dtype is NT5_DTYPE_F32, the only one the CPU's buffers hold;
 * records an internal error otherwise. */
static inline int cpu_is_f32(exec_ctx *x, int32_t dtype, const char *op) {
    if (dtype == NT5_DTYPE_F32) return 1;
    x->status = err_set(NT5_ERR_INTERNAL, "CPU %s asked for dtype %d", op, (int)dtype);
    return 0;
}

/* The bytes of a weight row of `cols` values stored as dtype (F32, F16,
 * BF16 or a block type) */
static inline size_t cpu_row_bytes(int32_t dtype, size_t cols) {
    const block_type *bt = block_type_of(dtype);
    return bt ? block_type_row_bytes(bt, cols) : cols * (dtype == NT5_DTYPE_F32 ? 4 : 2);
}

#endif
