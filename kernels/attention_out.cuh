// How the attention kernels write a result: in the O product's input dtype
// (backend.h attn_args out_dtype), f16 scaled by out_scale.
#ifndef NT5_KERNELS_ATTENTION_OUT_CUH
#define NT5_KERNELS_ATTENTION_OUT_CUH

#include "backend.h"
#include "half_store.cuh"

__device__ inline float out_scale(const attn_args &a) { return a.out_dtype == NT5_DTYPE_F16 ? a.out_scale : 1.0f; }

// acc / sum times the output scale; 0 when no key was attended (as the CPU's empty product)
__device__ inline float normalized(const attn_args &a, float acc, float sum) {
    return sum > 0.0f ? acc / sum * out_scale(a) : 0.0f;
}

#endif
