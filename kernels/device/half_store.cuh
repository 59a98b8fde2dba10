// Writing a kernel's fp32 result in the dtype the next product reads:
// fp32 as is, bf16 or f16 rounded to nearest even.
#ifndef NT5_KERNELS_HALF_STORE_CUH
#define NT5_KERNELS_HALF_STORE_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "nt5.h"

template <typename T> __device__ inline T stored(float v);
template <> __device__ inline float stored<float>(float v) { return v; }
template <> __device__ inline __nv_bfloat16 stored<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ inline __half stored<__half>(float v) { return __float2half_rn(v); }

// out[i] = v in dtype (NT5_DTYPE_F32, BF16 or F16), chosen at run time
__device__ inline void store_as(void *out, int32_t dtype, size_t i, float v) {
    if (dtype == NT5_DTYPE_BF16) ((__nv_bfloat16 *)out)[i] = stored<__nv_bfloat16>(v);
    else if (dtype == NT5_DTYPE_F16) ((__half *)out)[i] = stored<__half>(v);
    else ((float *)out)[i] = v;
}

#endif
