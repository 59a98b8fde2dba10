// Choosing tokens from logits on the GPU, so a decoding step sends only a
// few numbers a row to the host: greedy argmax, beam search's candidates
// and sampling with temperature, top-k and top-p, each as the CPU's
// logits_process.c computes it (fp64 sums of exp, ties to the lower token).
// One block of PICK_THREADS threads per row.
#include <math.h>

#include "kernels/device/launch.h"
#include "kernels/device/reduce.cuh"

namespace {

constexpr int PICK_THREADS = 256;

// Is (v, t) ahead of (bv, bt) in the order "higher score, then lower token"?
__device__ bool ahead(float v, size_t t, float bv, size_t bt) { return v > bv || (v == bv && t < bt); }

// The best (value, index) over the block; every thread gets it.
__device__ void block_best(float &v, size_t &t) {
    __shared__ float vs[PICK_THREADS];
    __shared__ size_t ts[PICK_THREADS];
    vs[threadIdx.x] = v;
    ts[threadIdx.x] = t;
    __syncthreads();
    for (int half = PICK_THREADS / 2; half > 0; half /= 2) {
        if (threadIdx.x < half &&
            ahead(vs[threadIdx.x + half], ts[threadIdx.x + half], vs[threadIdx.x], ts[threadIdx.x]))
            vs[threadIdx.x] = vs[threadIdx.x + half], ts[threadIdx.x] = ts[threadIdx.x + half];
        __syncthreads();
    }
    v = vs[0];
    t = ts[0];
    __syncthreads();
}

// logsumexp of a row as impl/backend/picks.c computes it: the max, then an fp64
// sum of the exps (double ones here, float ones within a few ulp there)
__device__ float row_logsumexp(const float *s, size_t V) {
    float mx = -INFINITY;
    size_t unused = V;
    for (size_t i = threadIdx.x; i < V; i += PICK_THREADS)
        if (ahead(s[i], i, mx, unused)) mx = s[i], unused = i;
    block_best(mx, unused);
    double sum = 0;
    for (size_t i = threadIdx.x; i < V; i += PICK_THREADS) sum += exp((double)(s[i] - mx));
    return mx + (float)log(block_sum(sum));
}

__global__ void __launch_bounds__(PICK_THREADS)
    greedy_pick_kernel(const float *logits, size_t V, int32_t *ids, float *logprobs) {
    const float *s = logits + blockIdx.x * V;
    float lse = row_logsumexp(s, V);
    float bv = -INFINITY;
    size_t bt = V;
    for (size_t i = threadIdx.x; i < V; i += PICK_THREADS)
        if (ahead(s[i], i, bv, bt)) bv = s[i], bt = i;
    block_best(bv, bt);
    size_t pick = bt < V ? bt : 0;  // all -inf (or NaN): index 0, as pick_argmax
    if (threadIdx.x == 0) {
        ids[blockIdx.x] = (int32_t)pick;
        logprobs[blockIdx.x] = s[pick] - lse;
    }
}

// n passes, each taking the best candidate after the previous one in the order
__global__ void __launch_bounds__(PICK_THREADS)
    beam_candidates_kernel(const float *logits, size_t V, const float *base, size_t n, float *scores, int32_t *tokens) {
    const float *s = logits + blockIdx.x * V;
    float lse = row_logsumexp(s, V), b = base[blockIdx.x], prev_v = INFINITY;
    size_t prev_t = 0;
    for (size_t k = 0; k < n; k++) {
        float bv = -INFINITY;
        size_t bt = V;
        for (size_t i = threadIdx.x; i < V; i += PICK_THREADS) {
            float v = (s[i] - lse) + b;
            bool after = k == 0 || ahead(prev_v, prev_t, v, i);
            if (after && ahead(v, i, bv, bt)) bv = v, bt = i;
        }
        block_best(bv, bt);
        if (threadIdx.x == 0) {
            scores[blockIdx.x * n + k] = bt < V ? bv : -INFINITY;
            tokens[blockIdx.x * n + k] = bt < V ? (int32_t)bt : 0;
        }
        prev_v = bv;
        prev_t = bt;
    }
}


// The block's bound (max or min); every thread gets it.
template <typename T, bool MAX> __device__ T block_bound(T v) {
    __shared__ T part[PICK_THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) {
        T other = __shfl_xor_sync(0xffffffffu, v, o);
        v = MAX ? (other > v ? other : v) : (other < v ? other : v);
    }
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    T r = part[0];
    for (int w = 1; w < PICK_THREADS / 32; w++) r = MAX ? (part[w] > r ? part[w] : r) : (part[w] < r ? part[w] : r);
    __syncthreads();
    return r;
}

// Floats as unsigned ints in the same order (larger float, larger key);
// -0.0 takes +0.0's key, as the CPU's comparisons see them equal.
__device__ uint32_t order_key(float v) {
    uint32_t b = __float_as_uint(v == 0.0f ? 0.0f : v);
    return b & 0x80000000u ? ~b : b | 0x80000000u;
}
__device__ float key_value(uint32_t k) { return __uint_as_float(k & 0x80000000u ? k & 0x7fffffffu : ~k); }

// The largest key K with enough(K) (a predicate true at 0 and falling as K grows), bit by bit.
template <typename Enough> __device__ uint32_t largest_key(Enough enough) {
    uint32_t prefix = 0;
    for (int bit = 31; bit >= 0; bit--)
        if (enough(prefix | (1u << bit))) prefix |= 1u << bit;
    return prefix;
}

// Sampling as pick_warp and pick_sample do it on the CPU: the scores divided by
// the temperature; top-k keeps the scores >= the k-th largest and top-p the
// scores >= the smallest of the most likely ones whose mass (fp64, relative
// to the max) reaches top_p of the rest, both found as thresholds on the
// scores' order keys (the exponentials computed once into the row's
// `weights` [V], which the 32 steps of the search sum); then the first
// token whose running fp64 sum of exp(score - max) passes u * total,
// chunks of tokens summed per thread.
__global__ void __launch_bounds__(PICK_THREADS)
    sample_pick_kernel(const float *logits, size_t V, float temperature, int top_k, float top_p, const double *u,
                       double *weights, int32_t *ids, float *logprobs) {
    __shared__ double prefix[PICK_THREADS + 1];
    const float *s = logits + blockIdx.x * V;
    float lse = row_logsumexp(s, V);
    auto warped = [&](size_t i) { return temperature != 1.0f ? s[i] / temperature : s[i]; };
    uint32_t floor_key = 0;  // tokens with a smaller key are filtered out
    if (top_k > 0 && (size_t)top_k < V)
        floor_key = largest_key([&](uint32_t k) {
            int count = 0;
            for (size_t i = threadIdx.x; i < V; i += PICK_THREADS) count += order_key(warped(i)) >= k;
            return block_sum(count) >= top_k;
        });
    uint32_t max_key = 0;
    for (size_t i = threadIdx.x; i < V; i += PICK_THREADS) max_key = max(max_key, order_key(warped(i)));
    max_key = block_bound<uint32_t, true>(max_key);
    const float wmax = key_value(max_key);
    if (top_p < 1.0f) {
        double *e = weights + blockIdx.x * V;  // exp(w - max) of the tokens top-k kept, else 0
        for (size_t i = threadIdx.x; i < V; i += PICK_THREADS) {
            float w = warped(i);
            e[i] = order_key(w) >= floor_key && w != -INFINITY ? exp((double)w - wmax) : 0.0;
        }
        auto mass = [&](uint32_t k) {
            double m = 0;
            for (size_t i = threadIdx.x; i < V; i += PICK_THREADS)
                if (order_key(warped(i)) >= k) m += e[i];
            return block_sum(m);
        };
        double target = (double)top_p * mass(floor_key);
        uint32_t cut = largest_key([&](uint32_t k) { return mass(k) >= target; });
        floor_key = max(floor_key, cut);
    }
    // thread t sums tokens [lo, hi) of the kept ones
    size_t chunk = (V + PICK_THREADS - 1) / PICK_THREADS, lo = threadIdx.x * chunk;
    size_t hi = lo + chunk < V ? lo + chunk : V, last = 0;
    double part = 0;
    for (size_t i = lo; i < hi; i++) {
        float w = warped(i);
        double p = order_key(w) >= floor_key ? exp((double)(w - wmax)) : 0.0;
        if (p != 0) part += p, last = i;
    }
    prefix[threadIdx.x + 1] = part;
    __syncthreads();
    if (threadIdx.x == 0) {
        prefix[0] = 0;
        for (int t = 1; t <= PICK_THREADS; t++) prefix[t] += prefix[t - 1];
    }
    __syncthreads();
    double target = u[blockIdx.x] * prefix[PICK_THREADS], acc = prefix[threadIdx.x];
    size_t found = V;
    for (size_t i = lo; i < hi && found == V; i++) {
        float w = warped(i);
        double p = order_key(w) >= floor_key ? exp((double)(w - wmax)) : 0.0;
        if (p == 0) continue;
        acc += p;
        if (target < acc) found = i;
    }
    found = block_bound<size_t, false>(found);                // the first crossing in token order
    if (found == V) found = block_bound<size_t, true>(last);  // none (rounding): the last possible token
    if (threadIdx.x == 0) {
        ids[blockIdx.x] = (int32_t)found;
        logprobs[blockIdx.x] = s[found] - lse;
    }
}

}  // namespace

extern "C" cudaError_t launch_beam_candidates(const float *logits, size_t rows, size_t V, const float *base, size_t n,
                                              float *scores, int32_t *tokens, cudaStream_t stream) {
    if (rows == 0 || n == 0) return cudaSuccess;
    beam_candidates_kernel<<<(unsigned)rows, PICK_THREADS, 0, stream>>>(logits, V, base, n, scores, tokens);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_greedy_pick(const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs,
                                          cudaStream_t stream) {
    if (rows == 0) return cudaSuccess;
    greedy_pick_kernel<<<(unsigned)rows, PICK_THREADS, 0, stream>>>(logits, V, ids, logprobs);
    return cudaGetLastError();
}

extern "C" cudaError_t launch_sample_pick(const float *logits, size_t rows, size_t V, float temperature, int32_t top_k,
                                          float top_p, const double *u, double *weights, int32_t *ids, float *logprobs,
                                          cudaStream_t stream) {
    if (rows == 0) return cudaSuccess;
    sample_pick_kernel<<<(unsigned)rows, PICK_THREADS, 0, stream>>>(logits, V, temperature, top_k, top_p, u, weights,
                                                                    ids, logprobs);
    return cudaGetLastError();
}
