/* The CUDA backend (libnt5-cuda.so): backend.h's ops on one GPU, the
 * module's entry and its contract (backend/cuda_module.h). The ops are in
 * session.c (calls and memory), products.c (cuBLASLt), ops.c, picks.c and
 * graphs.c; the kernels in kernels/device/. Errors end the call with
 * NT5_ERR_DEVICE or NT5_ERR_OUT_OF_MEMORY and leave the model usable,
 * except those that end the CUDA context (an illegal address, a failed
 * launch): the backend is then lost, and its later calls fail at once. */
#include <stdlib.h>
#include <string.h>

#include "kernels/device/launch.h"
#include "kernels/host/graphs.h"
#include "kernels/host/ops.h"
#include "kernels/host/picks.h"
#include "kernels/host/products.h"
#include "kernels/host/session.h"

static void cuda_destroy(backend *be) {
    cuda_backend *cb = cuda_of(be);
    int previous = enter_device(cb);
    while (cb->idle) {
        cuda_session *s = cb->idle;
        cb->idle = s->next;
        cuda_session_free(s);
    }
    plan_cache_destroy(&cb->plans);
    cudaMemPoolTrimTo(cb->pool, 0);
    cudaMemPoolDestroy(cb->pool);
    pthread_mutex_destroy(&cb->lock);
    free(cb);
    leave_device(previous);
}

static int cuda_threads(const backend *be) {
    (void)be;
    return 0;
}

static const backend_ops cuda_ops = {
    .name = "cuda",
    .device = NT5_DEVICE_CUDA,
    .computes_in_weight_dtype = 1,
    .destroy = cuda_destroy,
    .threads = cuda_threads,
    .adopt_weight = cuda_adopt_weight,
    .free_weight = cuda_free_weight,
    .read_weight = cuda_read_weight,
    .reserve = cuda_reserve,
    .exec_begin = cuda_exec_begin,
    .exec_end = cuda_exec_end,
    .resume = cuda_resume,
    .alloc = cuda_alloc,
    .release = cuda_release,
    .upload = cuda_upload,
    .upload_ints = cuda_upload_ints,
    .download = cuda_download,
    .run_recorded = cuda_run_recorded,
    .free_recorded = cuda_free_recorded,
    .embed = cuda_embed,
    .rmsnorm = cuda_rmsnorm,
    .linear = cuda_linear,
    .linear_relu = cuda_linear_relu,
    .ffn_activation = cuda_ffn_activation,
    .attention = cuda_attention,
    .greedy_pick = cuda_greedy_pick,
    .sample_pick = cuda_sample_pick,
    .beam_candidates = cuda_beam_candidates,
    .zero = cuda_zero,
    .store = cuda_store,
    .append_rows = cuda_append_rows,
    .gather_blocks = cuda_gather_blocks,
};

/* CUDA_OFF_* of NT5_CUDA_DISABLE ("graphs,tc-attention", ...); unknown names are ignored. */
static unsigned disabled_paths(void) {
    static const struct {
        const char *name;
        unsigned bit;
    } paths[] = {{"graphs", CUDA_OFF_GRAPHS},
                 {"tc-attention", CUDA_OFF_TC_ATTENTION},
                 {"split-attention", CUDA_OFF_SPLIT_ATTENTION},
                 {"relu-epilogue", CUDA_OFF_RELU_EPILOGUE},
                 {"tc-long-steps", CUDA_OFF_TC_LONG_STEPS}};
    const char *env = getenv("NT5_CUDA_DISABLE");
    unsigned bits = 0;
    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ",");
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            if (strlen(paths[i].name) == n && strncmp(p, paths[i].name, n) == 0) bits |= paths[i].bit;
        p += n + (p[n] == ',');
    }
    return bits;
}

/* Checks the device: compute capability 8.0 or newer, with stream-ordered memory pools. */
static nt5_status check_device(const cuda_host *host, int device) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return host->set_error(NT5_ERR_NO_DEVICE, "no usable CUDA device: %s (%s)", cudaGetErrorString(e),
                               cudaGetErrorName(e));
    }
    if (device < 0 || device >= count)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d: this machine has %d CUDA device%s", device, count,
                               count == 1 ? "" : "s");
    struct cudaDeviceProp prop;
    if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d: %s", device, cudaGetErrorString(e));
    if (prop.major < 8)
        return host->set_error(NT5_ERR_NO_DEVICE,
                               "cuda:%d (%s) has compute capability %d.%d; nt5's CUDA backend "
                               "needs 8.0 or newer",
                               device, prop.name, prop.major, prop.minor);
    int pools = 0;
    if (cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device) != cudaSuccess || !pools) {
        cudaGetLastError();
        return host->set_error(NT5_ERR_NO_DEVICE,
                               "cuda:%d (%s) has no stream-ordered memory pools, which nt5's CUDA backend "
                               "needs (a driver or platform without cudaMallocAsync: update the driver, or "
                               "use the CPU)",
                               device, prop.name);
    }
    if ((e = cudaSetDevice(device)) != cudaSuccess)
        return host->set_error(NT5_ERR_NO_DEVICE, "cuda:%d: %s", device, cudaGetErrorString(e));
    return NT5_OK;
}

/* The model's own pool on `device`, which keeps freed memory for the next
 * call (its release threshold is unlimited; nothing else allocates from it). */
static cudaError_t create_pool(int device, cudaMemPool_t *pool) {
    struct cudaMemPoolProps props;
    memset(&props, 0, sizeof props);
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    cudaError_t e = cudaMemPoolCreate(pool, &props);
    if (e != cudaSuccess) return e;
    uint64_t keep = UINT64_MAX;
    if ((e = cudaMemPoolSetAttribute(*pool, cudaMemPoolAttrReleaseThreshold, &keep)) != cudaSuccess)
        cudaMemPoolDestroy(*pool);
    return e;
}

__attribute__((visibility("default"))) const cuda_module_contract nt5_cuda_module_api = CUDA_MODULE_CONTRACT;

/* The backend on `device`, which it leaves current. */
static nt5_status create_backend(const cuda_host *host, int device, int allow_tf32, backend **out) {
    nt5_status st = check_device(host, device);
    if (st != NT5_OK) return st;
    cuda_backend *cb = calloc(1, sizeof *cb);
    if (!cb) return host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    cb->base.ops = &cuda_ops;
    cb->host = host;
    cb->device = device;
    cb->tf32 = allow_tf32;
    cb->disabled = disabled_paths();
    cb->tc_kernels = attention_tc_setup(); /* check_device made the device current */
    cudaError_t e = create_pool(device, &cb->pool);
    if (e != cudaSuccess) {
        cudaGetLastError();
        free(cb);
        return host->set_error(e == cudaErrorMemoryAllocation ? NT5_ERR_OUT_OF_MEMORY : NT5_ERR_DEVICE,
                               "cuda:%d: cannot create a memory pool: %s", device, cudaGetErrorString(e));
    }
    cublasStatus_t s = plan_cache_init(&cb->plans, allow_tf32);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cudaMemPoolDestroy(cb->pool);
        free(cb);
        return host->set_error(NT5_ERR_DEVICE, "cuBLASLt could not start (status %d)", (int)s);
    }
    pthread_mutex_init(&cb->lock, NULL);
    *out = &cb->base;
    return NT5_OK;
}

__attribute__((visibility("default"))) nt5_status nt5_cuda_module_create(const cuda_module_contract *contract,
                                                                         const cuda_host *host, int device,
                                                                         int allow_tf32, backend **out) {
    char why[256];
    *out = NULL;
    if (cuda_module_contract_differs(contract, &nt5_cuda_module_api, why, sizeof why))
        return host->set_error(NT5_ERR_DEVICE,
                               "libnt5-cuda.so was built for another libnt5: %s (install matching "
                               "versions)",
                               why);
    int caller = current_device(); /* given back */
    nt5_status st = create_backend(host, device, allow_tf32, out);
    leave_device(caller);
    return st;
}
