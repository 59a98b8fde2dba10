// T5 attention on the GPU: which kernel runs a call (launch.h), and the
// general kernel, flash style: one warp per query row walks the
// attended keys 32 at a time (a key per lane for the scores, an output
// dimension per lane for p v) with an online softmax, so no [heads, L, L]
// score or bias tensor exists. No 1/sqrt(d) scaling (T5); the relative
// position bias comes from the [num_buckets, heads] table through the
// bucket function the CPU uses (backend/position_bias.h); padded keys (>= kv_valid) and,
// causally, later keys are skipped.
#include <math.h>

#include "kernels/device/attention_common.cuh"
#include "kernels/device/launch.h"
#include "kernels/device/reduce.cuh"
#include "backend/position_bias.h"

namespace {

constexpr int WARPS = 4;
constexpr int MAX_DKV = 256;

template <int PER_LANE>  // output dimensions per lane: d_kv <= 32 * PER_LANE
__global__ void __launch_bounds__(WARPS * 32) attention_kernel(cuda_attention_args args) {
    const attn_args &a = args.a;
    __shared__ float q_smem[WARPS][MAX_DKV];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    size_t g = (size_t)blockIdx.x * WARPS + warp;
    if (g >= a.batch * a.heads * a.q_len) return;
    size_t i = g % a.q_len, bh = g / a.q_len, h = bh % a.heads, b = bh / a.heads;
    size_t kvb = b / a.kv_group, d = a.d_kv;
    size_t nk = attended_keys(args, kvb);
    long long pos = (long long)(query_offset(a) + i);
    size_t n_att = a.causal && (size_t)pos + 1 < nk ? (size_t)pos + 1 : nk;

    const float *q = a.q + (b * a.q_len + i) * a.ld_q + h * d;
    const float *k = a.k + kvb * a.kv_rows * a.ld_kv + h * d;
    const float *v = a.v + kvb * a.kv_rows * a.ld_kv + h * d;
    size_t out_at = (b * a.q_len + i) * a.ld_out + h * d;
    float *qs = q_smem[warp];
    for (size_t t = lane; t < d; t += 32) qs[t] = q[t];
    __syncwarp();

    float m = -INFINITY, sum = 0, acc[PER_LANE];
    for (int r = 0; r < PER_LANE; r++) acc[r] = 0;
    for (size_t j0 = 0; j0 < n_att; j0 += 32) {
        size_t j = j0 + lane;
        float s = -INFINITY;
        if (j < n_att) {
            const float *kj = k + j * a.ld_kv;
            float dot = 0;
            for (size_t t = 0; t < d; t++) dot += qs[t] * kj[t];
            if (a.bias_table) {
                int bucket = position_bucket_with((long long)j - pos, a.bidirectional, a.num_buckets, args.log_ratio);
                dot += a.bias_table[(size_t)bucket * a.heads + h];
            }
            s = dot;
        }
        float chunk_max = s;
        chunk_max = warp_max(chunk_max);
        float m_new = fmaxf(m, chunk_max);  // finite: the chunk has at least one key
        float correction = expf(m - m_new);
        float p = j < n_att ? expf(s - m_new) : 0.0f;
        float chunk_sum = warp_sum(p);
        sum = sum * correction + chunk_sum;
        for (int r = 0; r < PER_LANE; r++) acc[r] *= correction;
        size_t keys = n_att - j0 < 32 ? n_att - j0 : 32;
        for (size_t t = 0; t < keys; t++) {
            float pt = __shfl_sync(0xffffffffu, p, (int)t);
            const float *vt = v + (j0 + t) * a.ld_kv;
            for (int r = 0; r < PER_LANE; r++) {
                size_t c = lane + 32 * (size_t)r;
                if (c < d) acc[r] += pt * vt[c];
            }
        }
        m = m_new;
    }
    float inv = n_att ? out_scale(a) / sum : 0.0f;  // no attended key: zeros, as the CPU's empty product
    for (int r = 0; r < PER_LANE; r++) {
        size_t c = lane + 32 * (size_t)r;
        if (c < d) store_as(a.out, a.out_dtype, out_at + c, acc[r] * inv);
    }
}

template <int PER_LANE> cudaError_t launch(const cuda_attention_args *args, cudaStream_t stream) {
    size_t rows = args->a.batch * args->a.heads * args->a.q_len;
    if (rows == 0) return cudaSuccess;
    unsigned blocks = (unsigned)((rows + WARPS - 1) / WARPS);
    attention_kernel<PER_LANE><<<blocks, WARPS * 32, 0, stream>>>(*args);
    return cudaGetLastError();
}

// queries per row below which a row's keys are split over blocks (decoding)
constexpr size_t FEW_QUERIES = 16;

bool split(const attn_args *a, unsigned disabled) {
    return a->q_len < FEW_QUERIES && !(disabled & CUDA_OFF_SPLIT_ATTENTION);
}

}  // namespace

extern "C" size_t attention_partials(const attn_args *a, unsigned disabled) {
    return split(a, disabled) ? attention_decode_partials(a) : 0;
}

extern "C" cudaError_t launch_attention(const cuda_attention_args *args, cudaStream_t stream) {
    if (split(&args->a, args->disabled)) return launch_attention_decode(args, stream);
    if (!(args->disabled & CUDA_OFF_TC_ATTENTION) && attention_tc_supports(args))
        return launch_attention_tc(args, stream);
    size_t d = args->a.d_kv;
    if (d <= 32) return launch<1>(args, stream);
    if (d <= 64) return launch<2>(args, stream);
    if (d <= 128) return launch<4>(args, stream);
    if (d <= MAX_DKV) return launch<8>(args, stream);
    return cudaErrorInvalidValue;
}
