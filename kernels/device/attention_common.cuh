// What the attention kernels share: a decoding step's position read from
// device memory, and the result written in the O product's input dtype
// (backend.h attn_args out_dtype), f16 scaled by out_scale.
#ifndef NT5_KERNELS_ATTENTION_COMMON_CUH
#define NT5_KERNELS_ATTENTION_COMMON_CUH

#include "kernels/device/launch.h"
#include "kernels/device/half_store.cuh"

// The position of query 0: q_offset, or a decoding step's from step_pos.
__device__ inline size_t query_offset(const attn_args &a) { return a.step_pos ? (size_t)*a.step_pos : a.q_offset; }

// The keys kv batch kvb attends: its kv_valid, at most the call's (or the step's) kv_len.
__device__ inline size_t attended_keys(const cuda_attention_args &args, size_t kvb) {
    const attn_args &a = args.a;
    size_t kv_len = a.step_pos ? (size_t)*a.step_pos + a.q_len : a.kv_len;
    size_t nk = args.kv_valid ? (size_t)args.kv_valid[kvb] : kv_len;
    return nk < kv_len ? nk : kv_len;
}

__device__ inline float out_scale(const attn_args &a) { return a.out_dtype == NT5_DTYPE_F16 ? a.out_scale : 1.0f; }

// acc / sum times the output scale; 0 when no key was attended (as the CPU's empty product)
__device__ inline float normalized(const attn_args &a, float acc, float sum) {
    return sum > 0.0f ? acc / sum * out_scale(a) : 0.0f;
}

#endif
