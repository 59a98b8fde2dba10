/* The CUDA module's kernel launchers (the .cu files), callable from C. Each
 * queues its work on `stream` and returns the launch's cudaError_t (0 when
 * queued). Buffers are device memory; shapes are in the comments. */
#ifndef NT5_KERNELS_LAUNCH_H
#define NT5_KERNELS_LAUNCH_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[i, :] = table[ids[i], :] * scale : out [n, d] f32; table [vocab, d] in
 * table_dtype (F32, BF16, or F16 with scale = 2^weight_exp) */
cudaError_t launch_embed(float *out, const void *table, int32_t table_dtype, float scale, const int32_t *ids, size_t n,
                         size_t d, cudaStream_t stream);
/* out = in * rsqrt(mean(in^2) + eps) * w * scale : [rows, d] in out_dtype
 * (F32, BF16 or F16, rounded to nearest even) */
cudaError_t launch_rmsnorm(void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                           float eps, float scale, cudaStream_t stream);
/* out[M, F] = act(in[:, :F]) (* in[:, F:2F] when gated) * out_scale in
 * out_dtype, as launch_rmsnorm; in row stride ld_in */
cudaError_t launch_ffn_activation(void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                                  size_t M, size_t F, activation act, int gated, cudaStream_t stream);
/* out[rows, cols] (dense) = in rows (stride ld_in) * scale as dtype
 * NT5_DTYPE_BF16 or NT5_DTYPE_F16, rounded to nearest even (scale a power
 * of two: the f16 input scale 2^-input_exp, or 1) */
cudaError_t launch_to_half(uint16_t *out, const float *in, size_t ld_in, size_t rows, size_t cols, int32_t dtype,
                           float scale, cudaStream_t stream);

/* per row of logits [rows, V]: ids[r] = argmax (first on ties), logprobs[r]
 * = logits[r, id] - logsumexp(logits[r]) (fp64 sum), as backend/picks.h */
cudaError_t launch_greedy_pick(const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs,
                               cudaStream_t stream);

/* per row of logits [rows, V]: backend.h sample_pick with o's temperature,
 * top_k and top_p and the uniform draws u (device [rows]); weights: device
 * scratch [rows, V] when top_p < 1 (else unused) */
cudaError_t launch_sample_pick(const float *logits, size_t rows, size_t V, float temperature, int32_t top_k,
                               float top_p, const double *u, double *weights, int32_t *ids, float *logprobs,
                               cudaStream_t stream);

/* per row of logits [rows, V]: the n best of (logits - logsumexp) + base[r]
 * (base device [rows]), by score and then token, into scores/tokens [rows, n] */
cudaError_t launch_beam_candidates(const float *logits, size_t rows, size_t V, const float *base, size_t n,
                                   float *scores, int32_t *tokens, cudaStream_t stream);

/* backend.h append_rows, pos in device memory */
cudaError_t launch_append_rows(float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos, const float *src,
                               size_t ld_src, size_t batch, size_t cols, cudaStream_t stream);

/* dst block b = src block index[b] (index in device memory): the first
 * block_elems floats of blocks every `stride` floats, b < count */
cudaError_t launch_gather_blocks(float *dst, const float *src, const int32_t *index, size_t count, size_t block_elems,
                                 size_t stride, cudaStream_t stream);

/* T5 attention (backend.h attn_args, with device pointers); the
 * relative-position bias is computed in the kernels from the
 * [num_buckets, heads] table. Three kernels: tensor cores for 16 or more
 * queries in bf16/f16 (attention_tc.cu), a split-over-keys kernel for fewer
 * queries (decoding steps, attention_decode.cu), and a warp per query row
 * otherwise (fp32 and unusual head sizes, attention.cu). */
typedef struct cuda_attention_args {
    attn_args a;             /* a.kv_valid is not read: see kv_valid */
    const int32_t *kv_valid; /* device [kv_batch] attended keys per kv batch, or NULL */
    float log_ratio;         /* position_log_ratio() of the bucket settings */
    float *partials;         /* device [attention_partials(&a)] scratch, or NULL when that is 0 */
    unsigned disabled;       /* CUDA_OFF_* kernels not to use (NT5_CUDA_DISABLE) */
    unsigned tc_kernels;     /* attention_tc_setup() of the device: TC_* */
} cuda_attention_args;

/* Paths that NT5_CUDA_DISABLE (a comma-separated list of the names below)
 * turns off, to tell a faulty one apart on a new GPU or driver. */
#define CUDA_OFF_GRAPHS 1u          /* "graphs": decoding steps run as is */
#define CUDA_OFF_TC_ATTENTION 2u    /* "tc-attention": no tensor-core attention */
#define CUDA_OFF_SPLIT_ATTENTION 4u /* "split-attention": no split-over-keys attention */
#define CUDA_OFF_RELU_EPILOGUE 8u   /* "relu-epilogue": ReLU after the product, not in cuBLASLt */
#define CUDA_OFF_TC_LONG_STEPS 16u  /* "tc-long-steps": head size 64 on tensor cores takes 32 keys a step */
/* floats of scratch the call needs in `partials` */
size_t attention_partials(const attn_args *a, unsigned disabled);
cudaError_t launch_attention(const cuda_attention_args *args, cudaStream_t stream);

/* The tensor-core kernels a device runs: head size 64 with 64 keys a step
 * (where two such blocks fit an SM's shared memory: not on sm_86/89) or
 * 32, head size 128 with 64. */
#define TC_D64_LONG 1u
#define TC_D64_SHORT 2u
#define TC_D128 4u
/* Once per device (current): lets the tensor-core kernels take the shared
 * memory they need; the TC_* kernels that can, 0 for none. */
unsigned attention_tc_setup(void);

/* the kernels behind launch_attention */
int attention_tc_supports(const cuda_attention_args *args);
cudaError_t launch_attention_tc(const cuda_attention_args *args, cudaStream_t stream);
size_t attention_decode_partials(const attn_args *a);
cudaError_t launch_attention_decode(const cuda_attention_args *args, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
