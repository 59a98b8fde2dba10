// T5 attention for few queries per row (a decoding step: self-attention over
// the cache, cross-attention over the encoder's K/V), split over the keys so
// a long cache keeps the whole GPU busy. A block owns one query row and one
// slice of its attended keys; its warps take keys in turn (a warp reads a
// key row with its lanes over the head dimensions, coalesced), each keeping
// an online softmax; the block merges its warps, and with several slices a
// second kernel merges the slices' (max, sum, weighted values). fp32
// throughout, so exact mode stays within the CPU's rounding. No 1/sqrt(d)
// scaling (T5); the bias comes from the [num_buckets, heads] table.
#include <math.h>

#include "kernels/device/attention_common.cuh"
#include "kernels/device/launch.h"
#include "kernels/device/reduce.cuh"
#include "backend/position_bias.h"

namespace {

constexpr int WARPS = 4;
constexpr size_t KEYS_PER_SLICE = 128;
constexpr size_t MAX_SLICES = 64;
constexpr int MAX_DKV = 256;

// exp(m - max) as a weight, 0 for a part that saw no key
__device__ float weight(float m, float max) { return m == -INFINITY ? 0.0f : expf(m - max); }

// Row g of the queries is (b, h, i) with g = (b * heads + h) * q_len + i; a
// slice's partial result is [max, sum, acc[d]] at partials + (g * slices + slice) * (d + 2).
template <int PER_LANE>  // head dimensions per lane: d_kv <= 32 * PER_LANE
__global__ void __launch_bounds__(WARPS * 32) decode_attention_kernel(cuda_attention_args args, unsigned slices) {
    const attn_args &a = args.a;
    __shared__ float part_max[WARPS], part_sum[WARPS], part_acc[WARPS][32 * PER_LANE];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const size_t g = blockIdx.x, slice = blockIdx.y, d = a.d_kv;
    const size_t i = g % a.q_len, h = (g / a.q_len) % a.heads, b = g / a.q_len / a.heads, kvb = b / a.kv_group;
    size_t nk = attended_keys(args, kvb);
    long long pos = (long long)(query_offset(a) + i);
    size_t n_att = a.causal && (size_t)pos + 1 < nk ? (size_t)pos + 1 : nk;
    size_t per_slice = (n_att + slices - 1) / slices, j_begin = slice * per_slice;
    size_t j_end = j_begin + per_slice < n_att ? j_begin + per_slice : n_att;

    const float *q = a.q + (b * a.q_len + i) * a.ld_q + h * d;
    const float *k = a.k + kvb * a.kv_rows * a.ld_kv + h * d;
    const float *v = a.v + kvb * a.kv_rows * a.ld_kv + h * d;
    float qv[PER_LANE], acc[PER_LANE], m = -INFINITY, sum = 0.0f;
    for (int r = 0; r < PER_LANE; r++) {
        size_t c = lane + 32 * (size_t)r;
        qv[r] = c < d ? q[c] : 0.0f;
        acc[r] = 0.0f;
    }
    for (size_t j = j_begin + warp; j < j_end; j += WARPS) {
        const float *kj = k + j * a.ld_kv, *vj = v + j * a.ld_kv;
        float dot = 0.0f;
        for (int r = 0; r < PER_LANE; r++) {
            size_t c = lane + 32 * (size_t)r;
            if (c < d) dot += qv[r] * kj[c];
        }
        float s = warp_sum(dot);
        if (a.bias_table) {
            int bucket = position_bucket_with((long long)j - pos, a.bidirectional, a.num_buckets, args.log_ratio);
            s += a.bias_table[(size_t)bucket * a.heads + h];
        }
        float m_new = fmaxf(m, s), corr = weight(m, m_new), p = expf(s - m_new);
        sum = sum * corr + p;
        for (int r = 0; r < PER_LANE; r++) {
            size_t c = lane + 32 * (size_t)r;
            acc[r] = acc[r] * corr + (c < d ? p * vj[c] : 0.0f);
        }
        m = m_new;
    }
    if (lane == 0) {
        part_max[warp] = m;
        part_sum[warp] = sum;
    }
    for (int r = 0; r < PER_LANE; r++) part_acc[warp][lane + 32 * r] = acc[r];
    __syncthreads();
    if (warp != 0) return;
    float mx = -INFINITY, total = 0.0f;
    for (int w = 0; w < WARPS; w++) mx = fmaxf(mx, part_max[w]);
    for (int w = 0; w < WARPS; w++) total += part_sum[w] * weight(part_max[w], mx);
    float *partial = slices > 1 ? args.partials + (g * slices + slice) * (d + 2) : NULL;
    if (partial && lane == 0) {
        partial[0] = mx;
        partial[1] = total;
    }
    for (int r = 0; r < PER_LANE; r++) {
        size_t c = lane + 32 * (size_t)r;
        if (c >= d) continue;
        float o = 0.0f;
        for (int w = 0; w < WARPS; w++) o += part_acc[w][c] * weight(part_max[w], mx);
        if (partial) partial[2 + c] = o;
        else store_as(a.out, a.out_dtype, (b * a.q_len + i) * a.ld_out + h * d + c, normalized(a, o, total));
    }
}

// Merges the slices of row blockIdx.x into out.
__global__ void merge_slices_kernel(cuda_attention_args args, unsigned slices) {
    const attn_args &a = args.a;
    const size_t g = blockIdx.x, d = a.d_kv;
    const size_t i = g % a.q_len, h = (g / a.q_len) % a.heads, b = g / a.q_len / a.heads;
    const float *part = args.partials + g * slices * (d + 2);
    float mx = -INFINITY, total = 0.0f;
    for (unsigned s = 0; s < slices; s++) mx = fmaxf(mx, part[s * (d + 2)]);
    for (unsigned s = 0; s < slices; s++) total += part[s * (d + 2) + 1] * weight(part[s * (d + 2)], mx);
    for (size_t c = threadIdx.x; c < d; c += blockDim.x) {
        float o = 0.0f;
        for (unsigned s = 0; s < slices; s++) o += part[s * (d + 2) + 2 + c] * weight(part[s * (d + 2)], mx);
        store_as(a.out, a.out_dtype, (b * a.q_len + i) * a.ld_out + h * d + c, normalized(a, o, total));
    }
}

unsigned slices_for(const attn_args *a) {
    size_t s = (a->kv_len + KEYS_PER_SLICE - 1) / KEYS_PER_SLICE;
    return (unsigned)(s < 1 ? 1 : s > MAX_SLICES ? MAX_SLICES : s);
}

template <int PER_LANE> cudaError_t launch(const cuda_attention_args *args, cudaStream_t stream) {
    const attn_args *a = &args->a;
    size_t rows = a->batch * a->heads * a->q_len;
    unsigned slices = args->partials ? slices_for(a) : 1;
    decode_attention_kernel<PER_LANE><<<dim3((unsigned)rows, slices), WARPS * 32, 0, stream>>>(*args, slices);
    unsigned merge_threads = a->d_kv < 128 ? 64 : 128;
    if (slices > 1) merge_slices_kernel<<<(unsigned)rows, merge_threads, 0, stream>>>(*args, slices);
    return cudaGetLastError();
}

}  // namespace

extern "C" size_t attention_decode_partials(const attn_args *a) {
    unsigned slices = slices_for(a);
    return slices > 1 ? a->batch * a->heads * a->q_len * slices * (a->d_kv + 2) : 0;
}

extern "C" cudaError_t launch_attention_decode(const cuda_attention_args *args, cudaStream_t stream) {
    const attn_args *a = &args->a;
    size_t d = a->d_kv, rows = a->batch * a->heads * a->q_len;
    if (rows == 0) return cudaSuccess;
    if (rows > 0x7fffffffu) return cudaErrorInvalidValue;
    if (d <= 32) return launch<1>(args, stream);
    if (d <= 64) return launch<2>(args, stream);
    if (d <= 128) return launch<4>(args, stream);
    if (d <= MAX_DKV) return launch<8>(args, stream);
    return cudaErrorInvalidValue;
}
