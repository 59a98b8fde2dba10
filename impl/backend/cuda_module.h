/* The contract between libnt5 and its CUDA module, libnt5-cuda.so, which
 * libnt5 loads with dlopen when a GPU is asked for (so libnt5 itself needs
 * no CUDA library; see backend/cuda_loader.h). The two share the structs of
 * backend/backend.h by layout, so before calling the module libnt5 compares
 * the contract each side was built with: the API number and the size of
 * every shared struct. Change any of them and bump NT5_CUDA_MODULE_API. */
#ifndef NT5_IMPL_CUDA_MODULE_H
#define NT5_IMPL_CUDA_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"

#define NT5_CUDA_MODULE_API 6
/* an exported const cuda_module_contract: what the module was built with
 * (modules before API 3 export an int there, their API number) */
#define NT5_CUDA_MODULE_CONTRACT_SYMBOL "nt5_cuda_module_api"
/* the exported cuda_module_create_fn, called once the contracts match */
#define NT5_CUDA_MODULE_ENTRY "nt5_cuda_module_create"

/* What the module may call back into libnt5 for. */
typedef struct cuda_host {
    /* sets the thread-local message of nt5_last_error() and returns status */
    nt5_status (*set_error)(nt5_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
} cuda_host;

typedef struct cuda_module_contract {
    uint32_t api;  /* NT5_CUDA_MODULE_API, read first (all an older module has) */
    uint32_t size; /* sizeof(cuda_module_contract) */
    /* sizes of the shared structs */
    uint32_t backend_ops, backend, exec_ctx, attn_args, wmat, beam_candidate, cuda_host, generate_options;
} cuda_module_contract;

#define CUDA_MODULE_CONTRACT                                                                                           \
    {                                                                                                                  \
        NT5_CUDA_MODULE_API, sizeof(cuda_module_contract), sizeof(backend_ops), sizeof(backend), sizeof(exec_ctx),     \
            sizeof(attn_args), sizeof(wmat), sizeof(beam_candidate), sizeof(cuda_host), sizeof(nt5_generate_options)   \
    }

/* 0 when the module's contract (`module`, of which only what its first
 * fields promise is read) is this side's (`here`); else 1, with the first
 * difference named in why[cap] ("sizeof(backend_ops) is 256 in the module,
 * 264 in libnt5"). */
static inline int cuda_module_contract_differs(const cuda_module_contract *here, const cuda_module_contract *module,
                                               char *why, size_t cap) {
    static const struct {
        const char *what;
        size_t offset;
    } fields[] = {
        {"the module API", offsetof(cuda_module_contract, api)},
        {"sizeof(cuda_module_contract)", offsetof(cuda_module_contract, size)},
        {"sizeof(backend_ops)", offsetof(cuda_module_contract, backend_ops)},
        {"sizeof(backend)", offsetof(cuda_module_contract, backend)},
        {"sizeof(exec_ctx)", offsetof(cuda_module_contract, exec_ctx)},
        {"sizeof(attn_args)", offsetof(cuda_module_contract, attn_args)},
        {"sizeof(wmat)", offsetof(cuda_module_contract, wmat)},
        {"sizeof(beam_candidate)", offsetof(cuda_module_contract, beam_candidate)},
        {"sizeof(cuda_host)", offsetof(cuda_module_contract, cuda_host)},
        {"sizeof(nt5_generate_options)", offsetof(cuda_module_contract, generate_options)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        uint32_t a, b; /* API and size come first: once they match, every field can be read */
        memcpy(&a, (const char *)here + fields[i].offset, sizeof a);
        memcpy(&b, (const char *)module + fields[i].offset, sizeof b);
        if (a != b) {
            snprintf(why, cap, "%s is %u in the module, %u in libnt5", fields[i].what, (unsigned)b, (unsigned)a);
            return 1;
        }
    }
    return 0;
}

/* The module's entry: a CUDA backend on GPU `device` (f32 products in TF32
 * when allow_tf32), or NT5_ERR_NO_DEVICE (no driver, no such device,
 * compute capability below 8.0) / NT5_ERR_DEVICE (a contract other than
 * the module's) with the reason set. `contract` is libnt5's. */
typedef nt5_status (*cuda_module_create_fn)(const cuda_module_contract *contract, const cuda_host *host, int device,
                                            int allow_tf32, backend **out);

#endif
