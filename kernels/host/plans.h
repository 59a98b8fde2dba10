/* The cuBLASLt plan cache: descriptors and the heuristic's algorithm for
 * each product shape, built once and shared by the threads of a model. A
 * plan is immutable once cached and never replaced while an enqueue uses
 * it; the lock is held only to find a plan or to insert one, never while a
 * plan is built (the heuristic query) or enqueued. A new plan replaces the
 * least recently used one that nothing uses.
 *
 * The heuristic's algorithms are cached apart, keyed on the shape with M
 * rounded up to a bucket (m_bucket), so encoder calls of every length share
 * a few queries: a plan for a new M builds its descriptors (cheap) and
 * takes its bucket's algorithm when cuBLASLt confirms it fits the exact
 * shape, else queries the heuristic for that shape. */
#ifndef NT5_KERNELS_PLANS_H
#define NT5_KERNELS_PLANS_H

#include <cublasLt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_CACHE 128
#define ALGO_CACHE 64
/* each call's cuBLASLt workspace, which plans may assume */
#define WORKSPACE_BYTES ((size_t)32 << 20)

/* What a plan is for: out[M, N] (stride ld_out, out_dtype) (+)= in[M, K]
 * (stride ld_in) @ w^T with w in dtype, ReLU'd when relu. */
typedef struct lt_shape {
    size_t M, N, K, ld_in, ld_out;
    int32_t dtype, out_dtype;
    int accumulate, relu;
} lt_shape;

typedef struct lt_plan {
    lt_shape shape;
    int built;
    int users;         /* enqueues using it now (under the cache's lock); -1: a plan of its own */
    uint64_t last_use; /* the cache's clock when it was last taken */
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
} lt_plan;

/* the heuristic's algorithm for a bucket's shape (M = m_bucket) */
typedef struct lt_algo {
    lt_shape bucket;
    int found;
    uint64_t last_use;
    cublasLtMatmulAlgo_t algo;
} lt_algo;

typedef struct plan_cache {
    cublasLtHandle_t lt;
    int tf32; /* f32 products in TF32 */
    pthread_mutex_t lock;
    lt_plan plans[PLAN_CACHE];
    lt_algo algos[ALGO_CACHE];
    uint64_t clock; /* plans and algorithms taken so far */
} plan_cache;

/* The M whose heuristic a product of M rows uses: M itself up to 16 rows
 * (decoding), else the next power of two up to 1024, else the next
 * multiple of 1024. */
size_t m_bucket(size_t M);

cublasStatus_t plan_cache_init(plan_cache *pc, int tf32);
void plan_cache_destroy(plan_cache *pc);
/* The plan for shape, held until plan_release (cached, or built anew: into
 * a free slot, else a plan of its own when every slot is in use). */
cublasStatus_t plan_take(plan_cache *pc, const lt_shape *shape, lt_plan **out);
void plan_release(plan_cache *pc, lt_plan *p);

#endif
