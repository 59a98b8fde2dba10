#include "kernels/host/plans.h"

#include <stdlib.h>
#include <string.h>

#include "nt5.h"

static void plan_destroy(lt_plan *p) {
    if (!p->built) return;
    cublasLtMatrixLayoutDestroy(p->a);
    cublasLtMatrixLayoutDestroy(p->b);
    cublasLtMatrixLayoutDestroy(p->c);
    cublasLtMatmulDescDestroy(p->op);
    p->built = 0;
}

static cudaDataType_t lt_type(int32_t dtype) {
    return dtype == NT5_DTYPE_BF16 ? CUDA_R_16BF : dtype == NT5_DTYPE_F16 ? CUDA_R_16F : CUDA_R_32F;
}

/* The heuristic's best algorithm for op on these layouts, within the workspace. */
static cublasStatus_t heuristic(const plan_cache *pc, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
                                cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatmulAlgo_t *algo) {
    cublasLtMatmulPreference_t pref = NULL;
    size_t ws = WORKSPACE_BYTES;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    cublasStatus_t s = cublasLtMatmulPreferenceCreate(&pref);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (!s) s = cublasLtMatmulAlgoGetHeuristic(pc->lt, op, a, b, c, c, pref, 1, &result, &found);
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (!s && found == 0) s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (!s) *algo = result.algo;
    return s;
}

/* Layouts of the input and the output for M rows: out[M, N] row-major is
 * column-major out^T [N, M] = W (column-major [K, N], transposed) times
 * in^T (column-major [K, M]). */
static cublasStatus_t row_layouts(const lt_shape *sh, size_t M, cublasLtMatrixLayout_t *b, cublasLtMatrixLayout_t *c) {
    size_t ld_b = sh->dtype == NT5_DTYPE_F32 ? sh->ld_in : sh->K; /* 16-bit inputs are cast into a dense buffer */
    *b = *c = NULL;
    cublasStatus_t s = cublasLtMatrixLayoutCreate(b, lt_type(sh->dtype), sh->K, M, (int64_t)ld_b);
    if (!s) s = cublasLtMatrixLayoutCreate(c, lt_type(sh->out_dtype), sh->N, M, (int64_t)sh->ld_out);
    return s;
}

static void layouts_destroy(cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c) {
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
}

size_t m_bucket(size_t M) {
    if (M <= 16) return M;
    if (M > 1024) return (M + 1023) / 1024 * 1024;
    size_t b = 32;
    while (b < M) b *= 2;
    return b;
}

static int same_shape(const lt_shape *a, const lt_shape *b) {
    return a->M == b->M && a->N == b->N && a->K == b->K && a->ld_in == b->ld_in && a->ld_out == b->ld_out &&
           a->dtype == b->dtype && a->out_dtype == b->out_dtype && a->accumulate == b->accumulate && a->relu == b->relu;
}

/* The cached algorithm of key's bucket into *algo: 1, else 0; under the lock. */
static int find_algo(plan_cache *pc, const lt_shape *key, cublasLtMatmulAlgo_t *algo) {
    for (size_t i = 0; i < ALGO_CACHE; i++) {
        lt_algo *e = &pc->algos[i];
        if (e->found && same_shape(&e->bucket, key)) {
            e->last_use = ++pc->clock;
            *algo = e->algo;
            return 1;
        }
    }
    return 0;
}

/* key's algorithm cached, in an empty slot or the least recently used one; under the lock */
static void insert_algo(plan_cache *pc, const lt_shape *key, const cublasLtMatmulAlgo_t *algo) {
    lt_algo *slot = &pc->algos[0];
    for (size_t i = 0; i < ALGO_CACHE && slot->found; i++)
        if (!pc->algos[i].found || pc->algos[i].last_use < slot->last_use) slot = &pc->algos[i];
    *slot = (lt_algo){.bucket = *key, .found = 1, .last_use = ++pc->clock, .algo = *algo};
}

/* The algorithm of p's bucket: cached, else the heuristic's for the bucket's shape (outside the lock). */
static cublasStatus_t bucket_algo(plan_cache *pc, const lt_plan *p, cublasLtMatmulAlgo_t *algo) {
    lt_shape key = p->shape;
    key.M = m_bucket(key.M);
    pthread_mutex_lock(&pc->lock);
    int cached = find_algo(pc, &key, algo);
    pthread_mutex_unlock(&pc->lock);
    if (cached) return CUBLAS_STATUS_SUCCESS;
    cublasLtMatrixLayout_t b = NULL, c = NULL;
    cublasStatus_t s = row_layouts(&key, key.M, &b, &c);
    if (!s) s = heuristic(pc, p->op, p->a, b, c, algo);
    layouts_destroy(b, c);
    if (s) return s;
    pthread_mutex_lock(&pc->lock);
    insert_algo(pc, &key, algo);
    pthread_mutex_unlock(&pc->lock);
    return CUBLAS_STATUS_SUCCESS;
}

/* whether cuBLASLt accepts algo for p's exact shape within the workspace */
static int algo_fits(const plan_cache *pc, const lt_plan *p, const cublasLtMatmulAlgo_t *algo) {
    cublasLtMatmulHeuristicResult_t check;
    return cublasLtMatmulAlgoCheck(pc->lt, p->op, p->a, p->b, p->c, p->c, algo, &check) == CUBLAS_STATUS_SUCCESS &&
           check.workspaceSize <= WORKSPACE_BYTES;
}

/* p's descriptors, and its bucket's algorithm where it fits, else the heuristic's for p's shape */
static cublasStatus_t plan_build(plan_cache *pc, lt_plan *p) {
    const lt_shape *sh = &p->shape;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epilogue = sh->relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT;
    cublasComputeType_t compute = sh->dtype == NT5_DTYPE_F32 && pc->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                         : CUBLAS_COMPUTE_32F;
    cublasStatus_t s = cublasLtMatmulDescCreate(&p->op, compute, CUDA_R_32F);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    p->built = 1;
    p->a = p->b = p->c = NULL;
    if ((s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) ||
        (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) ||
        (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue)) ||
        (s = cublasLtMatrixLayoutCreate(&p->a, lt_type(sh->dtype), sh->K, sh->N, (int64_t)sh->K)) ||
        (s = row_layouts(sh, sh->M, &p->b, &p->c)))
        return s;
    if (bucket_algo(pc, p, &p->algo) == CUBLAS_STATUS_SUCCESS && algo_fits(pc, p, &p->algo))
        return CUBLAS_STATUS_SUCCESS;
    return heuristic(pc, p->op, p->a, p->b, p->c, &p->algo);
}

cublasStatus_t plan_cache_init(plan_cache *pc, int tf32) {
    memset(pc, 0, sizeof *pc);
    pc->tf32 = tf32;
    cublasStatus_t s = cublasLtCreate(&pc->lt);
    if (s == CUBLAS_STATUS_SUCCESS) pthread_mutex_init(&pc->lock, NULL);
    return s;
}

void plan_cache_destroy(plan_cache *pc) {
    for (size_t i = 0; i < PLAN_CACHE; i++) plan_destroy(&pc->plans[i]);
    cublasLtDestroy(pc->lt);
    pthread_mutex_destroy(&pc->lock);
}

/* The cached plan for shape, or NULL; under the lock. */
static lt_plan *find(plan_cache *pc, const lt_shape *shape) {
    for (size_t i = 0; i < PLAN_CACHE; i++)
        if (pc->plans[i].built && same_shape(&pc->plans[i].shape, shape)) return &pc->plans[i];
    return NULL;
}

/* The slot a new plan takes: an empty one, else the least recently used
 * one that no enqueue is using, else NULL; under the lock. */
static lt_plan *free_slot(plan_cache *pc) {
    lt_plan *best = NULL;
    for (size_t i = 0; i < PLAN_CACHE; i++) {
        lt_plan *p = &pc->plans[i];
        if (!p->built) return p;
        if (p->users == 0 && (!best || p->last_use < best->last_use)) best = p;
    }
    return best;
}

/* p taken by one more enqueue; under the lock */
static lt_plan *taken(plan_cache *pc, lt_plan *p) {
    p->users++;
    p->last_use = ++pc->clock;
    return p;
}

cublasStatus_t plan_take(plan_cache *pc, const lt_shape *shape, lt_plan **out) {
    pthread_mutex_lock(&pc->lock);
    lt_plan *p = find(pc, shape);
    if (p) *out = taken(pc, p);
    pthread_mutex_unlock(&pc->lock);
    if (p) return CUBLAS_STATUS_SUCCESS;
    *out = NULL;
    lt_plan fresh = {.shape = *shape};
    cublasStatus_t s = plan_build(pc, &fresh); /* outside the lock: the heuristic query takes its time */
    if (s != CUBLAS_STATUS_SUCCESS) {
        plan_destroy(&fresh);
        return s;
    }
    pthread_mutex_lock(&pc->lock);
    if ((p = find(pc, shape))) { /* another thread cached it meanwhile */
        *out = taken(pc, p);
        plan_destroy(&fresh);
    } else if ((p = free_slot(pc))) {
        plan_destroy(p);
        *p = fresh;
        *out = taken(pc, p);
    }
    pthread_mutex_unlock(&pc->lock);
    if (*out) return CUBLAS_STATUS_SUCCESS;
    /* every cached plan is being enqueued: this one is its own, freed by plan_release */
    if (!(p = malloc(sizeof *p))) {
        plan_destroy(&fresh);
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    *p = fresh;
    p->users = -1;
    *out = p;
    return CUBLAS_STATUS_SUCCESS;
}

void plan_release(plan_cache *pc, lt_plan *p) {
    if (p->users < 0) {
        plan_destroy(p);
        free(p);
        return;
    }
    pthread_mutex_lock(&pc->lock);
    p->users--;
    pthread_mutex_unlock(&pc->lock);
}
