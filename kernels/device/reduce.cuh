// Warp- and block-wide reductions shared by the kernels; every thread of
// the warp (block) gets the result, the same bits in each.
#ifndef NT5_KERNELS_REDUCE_CUH
#define NT5_KERNELS_REDUCE_CUH

template <typename T> __device__ inline T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ inline float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// The sum over the block (up to 1024 threads): per warp, then the warps' sums in order.
template <typename T> __device__ inline T block_sum(T v) {
    __shared__ T part[32];
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    T total = 0;
    for (unsigned w = 0; w < (blockDim.x + 31) / 32; w++) total += part[w];
    __syncthreads();
    return total;
}

#endif
