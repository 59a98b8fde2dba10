// T5 attention on tensor cores for many queries at once (the encoder, a
// decoder's prompt), in bf16 or f16 with fp32 accumulation and an fp32
// online softmax, flash style: a block owns 64 queries of one (batch, head)
// and walks the attended keys 64 (or 32: tc_layout) at a time, so no [heads, L, L] score or
// bias tensor exists. Per key block: S = Q K^T (WMMA 16x16x16, a warp per 16
// query rows), + the relative-position bias (looked up once per relative
// position from the [num_buckets, heads] table), masked keys out, the
// running max and sum updated, O rescaled and O += P V (WMMA). No
// 1/sqrt(d) scaling (T5). Key blocks past the last attended key (padding,
// causal future) are never read.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <mma.h>

#include "kernels/device/attention_common.cuh"
#include "kernels/device/launch.h"
#include "kernels/device/reduce.cuh"
#include "backend/position_bias.h"

using namespace nvcuda;

namespace {

constexpr int QB = 64;  // queries per block, 16 per warp
constexpr int WARPS = QB / 16;
constexpr int PAD_H = 8;  // row padding in 16-bit elements (spreads banks, keeps 32-byte alignment)
constexpr int PAD_F = 4;  // row padding in floats

// Shared memory of one block for head size D and KB keys a step, byte
// offsets (all multiples of 32, as WMMA needs). Q is only read once, into
// fragments, before the first keys arrive: it lies where K and V go. A row
// of probabilities P is written over the first half of its row of scores S
// once the row's scores are read (each warp owns its 16 rows of both).
template <int D, int KB> struct tc_layout {
    static constexpr int LDH = D + PAD_H;   // q [QB, D], k [KB, D], v [KB, D] rows (16-bit)
    static constexpr int LDS = KB + PAD_F;  // scores [QB, KB] (fp32)
    static constexpr int LDP = 2 * LDS;     // probabilities [QB, KB] (16-bit) in the scores' rows
    static constexpr int LDO = D + PAD_F;   // output accumulator [QB, D] (fp32)
    static constexpr size_t k = 0;
    static constexpr size_t q = k;
    static constexpr size_t v = k + (size_t)KB * LDH * 2;
    static constexpr size_t s = v + (size_t)KB * LDH * 2;
    static constexpr size_t p = s;
    static constexpr size_t o = s + (size_t)QB * LDS * 4;
    static constexpr size_t bias = o + (size_t)QB * LDO * 4;      // [QB + KB] by relative position
    static constexpr size_t rows = bias + (size_t)(QB + KB) * 4;  // max, sum, correction: [3, QB]
    static constexpr size_t bytes = rows + (size_t)3 * QB * 4;
    static_assert((size_t)QB * LDH * 2 <= s - q, "q fits where k and v go");
    static_assert(LDP % 8 == 0 && KB % 32 == 0, "WMMA leading dimension, a lane's columns");
    static_assert(v % 32 == 0 && s % 32 == 0 && o % 32 == 0, "WMMA alignment");
};

template <typename T, int D, int KB>
__global__ void __launch_bounds__(WARPS * 32) tc_attention_kernel(cuda_attention_args args) {
    using L = tc_layout<D, KB>;
    using frag_a = wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major>;
    using frag_acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
    extern __shared__ __align__(128) unsigned char smem[];
    T *qs = (T *)(smem + L::q), *ks = (T *)(smem + L::k), *vs = (T *)(smem + L::v), *ps = (T *)(smem + L::p);
    float *ss = (float *)(smem + L::s), *os = (float *)(smem + L::o), *bias_s = (float *)(smem + L::bias);
    float *row_max = (float *)(smem + L::rows), *row_sum = row_max + QB, *row_corr = row_sum + QB;

    const attn_args &a = args.a;
    const size_t h = blockIdx.y % a.heads, b = blockIdx.y / a.heads, q0 = (size_t)blockIdx.x * QB;
    const size_t kvb = b / a.kv_group;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const size_t q_offset = query_offset(a);
    size_t nk = attended_keys(args, kvb);
    size_t n_keys = nk;  // keys any query of this block attends
    if (a.causal) {
        size_t q_end = q0 + QB < a.q_len ? q0 + QB : a.q_len;
        if (q_offset + q_end < n_keys) n_keys = q_offset + q_end;
    }
    const float *qg = a.q + b * a.q_len * a.ld_q + h * D;  // query i: qg + i * ld_q
    const float *kg = a.k + kvb * a.kv_rows * a.ld_kv + h * D;
    const float *vg = a.v + kvb * a.kv_rows * a.ld_kv + h * D;

    for (int e = threadIdx.x; e < QB * D; e += blockDim.x) {
        int r = e / D, c = e % D;
        size_t i = q0 + r;
        qs[r * L::LDH + c] = stored<T>(i < a.q_len ? qg[i * a.ld_q + c] : 0.0f);
        os[r * L::LDO + c] = 0.0f;
    }
    if (threadIdx.x < QB) {
        row_max[threadIdx.x] = -INFINITY;
        row_sum[threadIdx.x] = 0.0f;
    }
    __syncthreads();
    frag_a qf[D / 16];
    for (int t = 0; t < D / 16; t++) wmma::load_matrix_sync(qf[t], qs + warp * 16 * L::LDH + t * 16, L::LDH);

    for (size_t j0 = 0; j0 < n_keys; j0 += KB) {
        __syncthreads();  // every warp has its q fragments, and is done with the previous k, v, p and bias
        for (int e = threadIdx.x; e < KB * D; e += blockDim.x) {
            int r = e / D, c = e % D;
            size_t j = j0 + r;
            int in = j < n_keys;  // zeros past the attended keys: p = 0 there must not meet a NaN
            ks[r * L::LDH + c] = stored<T>(in ? kg[j * a.ld_kv + c] : 0.0f);
            vs[r * L::LDH + c] = stored<T>(in ? vg[j * a.ld_kv + c] : 0.0f);
        }
        // bias_s[c - r + QB - 1] for key column c and query row r: relative position j0 + c - (q_offset + q0 + r)
        if (a.bias_table)
            for (int e = threadIdx.x; e < QB + KB - 1; e += blockDim.x) {
                long long rel = (long long)j0 - (long long)(q_offset + q0 + QB - 1) + e;
                int bucket = position_bucket_with(rel, a.bidirectional, a.num_buckets, args.log_ratio);
                bias_s[e] = a.bias_table[(size_t)bucket * a.heads + h];
            }
        __syncthreads();

        // S [16, KB] of this warp = Q K^T
        for (int n = 0; n < KB / 16; n++) {
            frag_acc acc;
            wmma::fill_fragment(acc, 0.0f);
            for (int t = 0; t < D / 16; t++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kf;
                wmma::load_matrix_sync(kf, ks + n * 16 * L::LDH + t * 16, L::LDH);
                wmma::mma_sync(acc, qf[t], kf, acc);
            }
            wmma::store_matrix_sync(ss + warp * 16 * L::LDS + n * 16, acc, L::LDS, wmma::mem_row_major);
        }
        __syncwarp();

        // online softmax over the warp's rows; a lane holds key columns lane and lane + 32
        for (int r = warp * 16; r < warp * 16 + 16; r++) {
            long long pos = (long long)(q_offset + q0 + r);
            size_t n_att = a.causal && (size_t)pos + 1 < nk ? (size_t)pos + 1 : nk;
            float sc[KB / 32], mx = -INFINITY;
            for (int u = 0; u < KB / 32; u++) {
                int c = lane + 32 * u;
                sc[u] = -INFINITY;
                if (j0 + c < n_att) sc[u] = ss[r * L::LDS + c] + (a.bias_table ? bias_s[c - r + QB - 1] : 0.0f);
                mx = fmaxf(mx, sc[u]);
            }
            float m_old = row_max[r], m_new = fmaxf(m_old, warp_max(mx));
            __syncwarp();  // every lane has read the row's scores before p overwrites them
            float corr = m_new == -INFINITY ? 1.0f : expf(m_old - m_new), sum = 0.0f;
            for (int u = 0; u < KB / 32; u++) {
                float p = sc[u] == -INFINITY ? 0.0f : expf(sc[u] - m_new);
                ps[r * L::LDP + lane + 32 * u] = stored<T>(p);
                sum += p;
            }
            sum = warp_sum(sum);
            __syncwarp();  // every lane has read row_max[r] before it changes
            if (lane == 0) {
                row_max[r] = m_new;
                row_sum[r] = row_sum[r] * corr + sum;
                row_corr[r] = corr;
            }
        }
        __syncwarp();
        for (int e = lane; e < 16 * D; e += 32) {
            int r = warp * 16 + e / D;
            os[r * L::LDO + e % D] *= row_corr[r];
        }
        __syncwarp();

        // O [16, D] of this warp += P V
        for (int n = 0; n < D / 16; n++) {
            frag_acc acc;
            float *o_tile = os + warp * 16 * L::LDO + n * 16;
            wmma::load_matrix_sync(acc, o_tile, L::LDO, wmma::mem_row_major);
            for (int t = 0; t < KB / 16; t++) {
                frag_a pf;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vf;
                wmma::load_matrix_sync(pf, ps + warp * 16 * L::LDP + t * 16, L::LDP);
                wmma::load_matrix_sync(vf, vs + t * 16 * L::LDH + n * 16, L::LDH);
                wmma::mma_sync(acc, pf, vf, acc);
            }
            wmma::store_matrix_sync(o_tile, acc, L::LDO, wmma::mem_row_major);
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < QB * D; e += blockDim.x) {
        int r = e / D, c = e % D;
        size_t i = q0 + r;
        if (i < a.q_len)
            store_as(a.out, a.out_dtype, (b * a.q_len + i) * a.ld_out + h * D + c,
                     normalized(a, os[r * L::LDO + c], row_sum[r]));
    }
}

template <typename T, int D, int KB> cudaError_t launch(const cuda_attention_args *args, cudaStream_t stream) {
    dim3 grid((unsigned)((args->a.q_len + QB - 1) / QB), (unsigned)(args->a.batch * args->a.heads));
    tc_attention_kernel<T, D, KB><<<grid, WARPS * 32, tc_layout<D, KB>::bytes, stream>>>(*args);
    return cudaGetLastError();
}

template <int D, int KB> cudaError_t launch_dtype(const cuda_attention_args *args, cudaStream_t stream) {
    return args->a.compute_dtype == NT5_DTYPE_BF16 ? launch<__nv_bfloat16, D, KB>(args, stream)
                                                   : launch<__half, D, KB>(args, stream);
}

// Lets both dtypes' kernels of head size D and KB keys a step take their shared memory on the current device.
template <int D, int KB> bool allow_smem(int optin) {
    const int bytes = (int)tc_layout<D, KB>::bytes;
    return optin >= bytes &&
           cudaFuncSetAttribute(tc_attention_kernel<__nv_bfloat16, D, KB>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                bytes) == cudaSuccess &&
           cudaFuncSetAttribute(tc_attention_kernel<__half, D, KB>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                bytes) == cudaSuccess;
}

// whether two blocks of the kernel fit an SM's shared memory (each with the 1 KB the system reserves)
template <int D, int KB> bool two_per_sm(int per_sm) { return 2 * ((int)tc_layout<D, KB>::bytes + 1024) <= per_sm; }

// the head-size-64 kernel with 64 keys a step: where it is the device's and not switched off
bool long_steps(const cuda_attention_args *args) {
    return (args->tc_kernels & TC_D64_LONG) &&
           (!(args->disabled & CUDA_OFF_TC_LONG_STEPS) || !(args->tc_kernels & TC_D64_SHORT));
}

}  // namespace

extern "C" unsigned attention_tc_setup(void) {
    int device = 0, optin = 0, per_sm = 0;
    unsigned kernels = 0;
    if (cudaGetDevice(&device) == cudaSuccess &&
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device) == cudaSuccess) {
        if (two_per_sm<64, 64>(per_sm) && allow_smem<64, 64>(optin)) kernels |= TC_D64_LONG;
        if (allow_smem<64, 32>(optin)) kernels |= TC_D64_SHORT;
        if (allow_smem<128, 64>(optin)) kernels |= TC_D128;
    }
    cudaGetLastError(); /* a refusal only means fewer kernels */
    return kernels;
}

extern "C" int attention_tc_supports(const cuda_attention_args *args) {
    const attn_args *a = &args->a;
    if (a->compute_dtype != NT5_DTYPE_BF16 && a->compute_dtype != NT5_DTYPE_F16) return 0;
    if (a->q_len < 16 || a->batch * a->heads == 0 || a->batch * a->heads > 65535) return 0;
    unsigned need = a->d_kv == 64 ? TC_D64_LONG | TC_D64_SHORT : a->d_kv == 128 ? TC_D128 : 0;
    return (args->tc_kernels & need) != 0;
}

extern "C" cudaError_t launch_attention_tc(const cuda_attention_args *args, cudaStream_t stream) {
    if (args->a.d_kv == 128) return launch_dtype<128, 64>(args, stream);
    return long_steps(args) ? launch_dtype<64, 64>(args, stream) : launch_dtype<64, 32>(args, stream);
}
