// Row-wise kernels of the CUDA backend: embedding gather, RMSNorm, gated
// activations, f32 -> bf16/f16 casts (product inputs, outputs) and cache
// copies. fp32 arithmetic, the same formulas as the CPU backend
// (impl/backend/cpu/cpu_rows.c, impl/base/fast_math.h).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/device/launch.h"
#include "kernels/device/half_store.cuh"
#include "kernels/device/reduce.cuh"

namespace {

__device__ float bf16_bits_to_float(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }

__global__ void embed_kernel(float *out, const void *table, int32_t dtype, float scale, const int32_t *ids, size_t d) {
    size_t row = blockIdx.x;
    size_t src = (size_t)ids[row] * d;
    for (size_t i = threadIdx.x; i < d; i += blockDim.x) {
        float v;
        if (dtype == NT5_DTYPE_BF16) v = bf16_bits_to_float(((const uint16_t *)table)[src + i]);
        else if (dtype == NT5_DTYPE_F16) v = __half2float(__ushort_as_half(((const uint16_t *)table)[src + i])) * scale;
        else v = ((const float *)table)[src + i];
        out[row * d + i] = v;
    }
}

template <typename T>
__global__ void rmsnorm_kernel(T *out, const float *in, const float *w, size_t d, float eps, float scale) {
    const float *x = in + blockIdx.x * d;
    T *y = out + blockIdx.x * d;
    float ss = 0;
    for (size_t i = threadIdx.x; i < d; i += blockDim.x) ss += x[i] * x[i];
    ss = block_sum(ss);
    float inv = 1.0f / sqrtf(ss / (float)d + eps);
    for (size_t i = threadIdx.x; i < d; i += blockDim.x) y[i] = stored<T>(w[i] * (x[i] * inv) * scale);
}

__device__ float activate(float v, activation act) {
    switch (act) {
    case ACT_RELU: return v < 0 ? 0 : v;  // NaN stays NaN, as in PyTorch
    case ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case ACT_GELU_TANH: {
        float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        return v / (1.0f + expf(-2.0f * u));
    }
    case ACT_SILU: return v / (1.0f + expf(-v));
    }
    return v;
}

// The row-wise kernels below take rows over the grid's y and a row's
// columns over its x (both grid-stride), so no element pays a 64-bit
// division to find its row.
#define FOR_ROWS(r, rows) for (size_t r = blockIdx.y; r < (rows); r += gridDim.y)
#define FOR_COLS(i, cols)                                                                                              \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (cols); i += (size_t)gridDim.x * blockDim.x)

template <typename T>
__global__ void ffn_activation_kernel(T *out, float scale, const float *in, size_t ld_in, size_t M, size_t F,
                                      activation act, int gated) {
    FOR_ROWS(r, M) {
        const float *x = in + r * ld_in;
        FOR_COLS(i, F) {
            float y = activate(x[i], act);
            out[r * F + i] = stored<T>((gated ? y * x[F + i] : y) * scale);
        }
    }
}

template <typename T>
__global__ void to_half_kernel(T *out, const float *in, size_t ld_in, size_t rows, size_t cols, float scale) {
    FOR_ROWS(r, rows) FOR_COLS(i, cols) out[r * cols + i] = stored<T>(in[r * ld_in + i] * scale);
}

__global__ void append_rows_kernel(float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos, const float *src,
                                   size_t ld_src, size_t cols) {
    size_t b = blockIdx.x;
    float *to = dst + b * block_stride + (size_t)*pos * ld_dst;
    const float *from = src + b * ld_src;
    for (size_t i = threadIdx.x; i < cols; i += blockDim.x) to[i] = from[i];
}

__global__ void gather_blocks_kernel(float *dst, const float *src, const int32_t *index, size_t block_elems,
                                     size_t stride) {
    size_t b = blockIdx.y;
    const float *from = src + (size_t)index[b] * stride;
    float *to = dst + b * stride;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < block_elems; i += (size_t)gridDim.x * blockDim.x)
        to[i] = from[i];
}

// the grid of FOR_ROWS/FOR_COLS for rows x cols elements, `block` threads a block
dim3 grid_for_rows(size_t rows, size_t cols, unsigned block) {
    size_t x = (cols + block - 1) / block;
    return dim3((unsigned)(x < 1024 ? (x ? x : 1) : 1024), (unsigned)(rows < 65535 ? rows : 65535));
}

}  // namespace

extern "C" cudaError_t launch_embed(float *out, const void *table, int32_t table_dtype, float scale, const int32_t *ids,
                                    size_t n, size_t d, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    embed_kernel<<<(unsigned)n, 256, 0, stream>>>(out, table, table_dtype, scale, ids, d);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_rmsnorm(void *out, int32_t out_dtype, const float *in, const float *w, size_t rows,
                                      size_t d, float eps, float scale, cudaStream_t stream) {
    if (rows == 0) return cudaSuccess;
    if (out_dtype == NT5_DTYPE_BF16)
        rmsnorm_kernel<<<(unsigned)rows, 256, 0, stream>>>((__nv_bfloat16 *)out, in, w, d, eps, scale);
    else if (out_dtype == NT5_DTYPE_F16)
        rmsnorm_kernel<<<(unsigned)rows, 256, 0, stream>>>((__half *)out, in, w, d, eps, scale);
    else rmsnorm_kernel<<<(unsigned)rows, 256, 0, stream>>>((float *)out, in, w, d, eps, scale);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_ffn_activation(void *out, int32_t out_dtype, float out_scale, const float *in,
                                             size_t ld_in, size_t M, size_t F, activation act, int gated,
                                             cudaStream_t stream) {
    if (M * F == 0) return cudaSuccess;
    dim3 grid = grid_for_rows(M, F, 256);
    if (out_dtype == NT5_DTYPE_BF16)
        ffn_activation_kernel<<<grid, 256, 0, stream>>>((__nv_bfloat16 *)out, out_scale, in, ld_in, M, F, act, gated);
    else if (out_dtype == NT5_DTYPE_F16)
        ffn_activation_kernel<<<grid, 256, 0, stream>>>((__half *)out, out_scale, in, ld_in, M, F, act, gated);
    else ffn_activation_kernel<<<grid, 256, 0, stream>>>((float *)out, out_scale, in, ld_in, M, F, act, gated);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_to_half(uint16_t *out, const float *in, size_t ld_in, size_t rows, size_t cols,
                                      int32_t dtype, float scale, cudaStream_t stream) {
    if (rows * cols == 0) return cudaSuccess;
    dim3 grid = grid_for_rows(rows, cols, 256);
    if (dtype == NT5_DTYPE_BF16)
        to_half_kernel<<<grid, 256, 0, stream>>>((__nv_bfloat16 *)out, in, ld_in, rows, cols, scale);
    else to_half_kernel<<<grid, 256, 0, stream>>>((__half *)out, in, ld_in, rows, cols, scale);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_append_rows(float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos,
                                          const float *src, size_t ld_src, size_t batch, size_t cols,
                                          cudaStream_t stream) {
    if (batch == 0 || cols == 0) return cudaSuccess;
    if (batch > 0x7fffffffu) return cudaErrorInvalidValue;
    append_rows_kernel<<<(unsigned)batch, 256, 0, stream>>>(dst, block_stride, ld_dst, pos, src, ld_src, cols);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_gather_blocks(float *dst, const float *src, const int32_t *index, size_t count,
                                            size_t block_elems, size_t stride, cudaStream_t stream) {
    if (count == 0 || block_elems == 0) return cudaSuccess;
    if (count > 65535) return cudaErrorInvalidValue;
    size_t x = (block_elems + 255) / 256;
    dim3 grid((unsigned)(x < 1024 ? x : 1024), (unsigned)count);
    gather_blocks_kernel<<<grid, 256, 0, stream>>>(dst, src, index, block_elems, stride);
    return cudaGetLastError();
}
