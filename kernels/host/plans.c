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

/* out[M, N] row-major is column-major out^T [N, M] = W (column-major [K, N],
 * transposed) times in^T (column-major [K, M]). */
static cublasStatus_t plan_build(const plan_cache *pc, lt_plan *p) {
    const lt_shape *sh = &p->shape;
    cudaDataType_t ab = lt_type(sh->dtype);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epilogue = sh->relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT;
    size_t ld_b = sh->dtype == NT5_DTYPE_F32 ? sh->ld_in : sh->K; /* 16-bit inputs are cast into a dense buffer */
    cublasComputeType_t compute = sh->dtype == NT5_DTYPE_F32 && pc->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                         : CUBLAS_COMPUTE_32F;
    cublasStatus_t s = cublasLtMatmulDescCreate(&p->op, compute, CUDA_R_32F);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    p->built = 1;
    p->a = p->b = p->c = NULL;
    if ((s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) ||
        (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) ||
        (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue)) ||
        (s = cublasLtMatrixLayoutCreate(&p->a, ab, sh->K, sh->N, (int64_t)sh->K)) ||
        (s = cublasLtMatrixLayoutCreate(&p->b, ab, sh->K, sh->M, (int64_t)ld_b)) ||
        (s = cublasLtMatrixLayoutCreate(&p->c, lt_type(sh->out_dtype), sh->N, sh->M, (int64_t)sh->ld_out)))
        return s;
    cublasLtMatmulPreference_t pref = NULL;
    size_t ws = WORKSPACE_BYTES;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    s = cublasLtMatmulPreferenceCreate(&pref);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (!s) s = cublasLtMatmulAlgoGetHeuristic(pc->lt, p->op, p->a, p->b, p->c, p->c, pref, 1, &result, &found);
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (!s && found == 0) s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (!s) p->algo = result.algo;
    return s;
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

static int same_shape(const lt_shape *a, const lt_shape *b) {
    return a->M == b->M && a->N == b->N && a->K == b->K && a->ld_in == b->ld_in && a->ld_out == b->ld_out &&
           a->dtype == b->dtype && a->out_dtype == b->out_dtype && a->accumulate == b->accumulate && a->relu == b->relu;
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
