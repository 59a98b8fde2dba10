// What the attention kernels share: a decoding step's position read from
// device memory, and the result written in the O product's input dtype
// (backend.h attn_args out_dtype), f16 scaled by out_scale.
#ifndef NT5_KERNELS_ATTENTION_COMMON_CUH
#define NT5_KERNELS_ATTENTION_COMMON_CUH

#include "backend.h"
#include "half_store.cuh"

// The call's arguments, with q_offset and kv_len from step_pos when it is set.
__device__ inline attn_args at_step(const attn_args &a) {
    attn_args r = a;
    if (r.step_pos) {
        r.q_offset = (size_t)*r.step_pos;
        r.kv_len = r.q_offset + r.q_len;
    }
    return r;
}

__device__ inline float out_scale(const attn_args &a) { return a.out_dtype == NT5_DTYPE_F16 ? a.out_scale : 1.0f; }

// acc / sum times the output scale; 0 when no key was attended (as the CPU's empty product)
__device__ inline float normalized(const attn_args &a, float acc, float sum) {
    return sum > 0.0f ? acc / sum * out_scale(a) : 0.0f;
}

#endif
