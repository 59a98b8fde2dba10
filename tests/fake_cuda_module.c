/* A stand-in for libnt5-cuda.so that checks the module handshake
 * (backend/cuda_module.h) without a GPU. Built three ways:
 *   FAKE_MATCH       the contract of this build; its entry runs and answers
 *                    NT5_ERR_NO_DEVICE "fake nt5 CUDA module reached"
 *   FAKE_GROWN_TABLE a backend_ops table with one more op than libnt5's
 *   FAKE_OLD_API     a module from before API 3: an int API number, 2 */
#include "backend/cuda_module.h"

#define EXPORT __attribute__((visibility("default")))

#if defined(FAKE_OLD_API)
EXPORT const int nt5_cuda_module_api = 2;
#else
/* the table a newer module would have */
typedef struct grown_ops {
    backend_ops ops;
    void (*added)(exec_ctx *x);
} grown_ops;

EXPORT const cuda_module_contract nt5_cuda_module_api =
#if defined(FAKE_GROWN_TABLE)
    {NT5_CUDA_MODULE_API, sizeof(cuda_module_contract),
     sizeof(grown_ops),   sizeof(backend),
     sizeof(exec_ctx),    sizeof(attn_args),
     sizeof(wmat),        sizeof(beam_candidate),
     sizeof(cuda_host),   sizeof(nt5_generate_options)};
#else
    CUDA_MODULE_CONTRACT;
#endif
#endif

EXPORT nt5_status nt5_cuda_module_create(const cuda_module_contract *contract, const cuda_host *host, int device,
                                         int allow_tf32, backend **out) {
    (void)contract;
    (void)device;
    (void)allow_tf32;
    *out = NULL;
    return host->set_error(NT5_ERR_NO_DEVICE, "fake nt5 CUDA module reached");
}
