/* The backend contract: the small set of device operations the forward
 * pass is written against, and the types they take. The CPU backend
 * (backend/cpu/) is the reference; the CUDA backend (kernels/, a module
 * loaded at run time: backend/cuda_module.h) implements the same table.
 * Callers go through backend/dispatch.h, never through the table itself.
 *
 * Buffers are float arrays in the backend's memory (host memory for the
 * CPU); an int32 buffer there is an alloc()ed one of the same count.
 * Other arrays (attention's kv lengths, token choices) are host memory
 * unless an op says otherwise. Operations do not fail individually: a
 * failure (out of memory, a device error) is recorded in the exec context,
 * and the dispatch layer runs no op on a failed context (so an op starts
 * with x->status == NT5_OK). An op finds its backend's state through
 * x->scratch, which exec_begin set, never through x->be: that may be a
 * backend wrapping it (backend/observing.h). docs/ARCHITECTURE.md tells the
 * whole contract. */
#ifndef NT5_IMPL_BACKEND_H
#define NT5_IMPL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

typedef enum activation {
    ACT_RELU,
    ACT_GELU,      /* erf form */
    ACT_GELU_TANH, /* gelu_new / gelu_pytorch_tanh */
    ACT_SILU,
} activation;

/* A weight matrix [rows, cols] in backend memory, stored as NT5_DTYPE_F32,
 * NT5_DTYPE_BF16, NT5_DTYPE_F16 (value * 2^-weight_exp) or (the CPU)
 * ggml blocks (quant/block_type.h, rows of whole blocks). */
typedef struct wmat {
    const void *data;
    int32_t dtype;
    int32_t index;      /* its entry in the model's tensor list (model/weights.h) */
    int32_t weight_exp; /* F16: the stored values are the weights times 2^-weight_exp; else 0 */
    int32_t input_exp;  /* f16 files: a half-precision product divides its input by 2^input_exp; -1: none */
    /* A fused matrix whose equal row parts are stored in different block
     * types (a GGUF _M mix's v in Q6_K beside q and k in Q4_K): its n_parts
     * parts, each a matrix of its own, their blocks one after another in
     * data (dtype is the first part's). op_linear takes them one by one
     * (backend/dispatch.c), so no backend op sees them; fused matrices go
     * through no other op. NULL otherwise. */
    const struct wmat *parts;
    int32_t n_parts;
} wmat;

/* A beam search candidate: a token extending a decoder row, with its score. */
typedef struct beam_candidate {
    float score;
    int32_t token;
    int32_t row;
} beam_candidate;

typedef struct backend backend;

/* Per-call execution state: which backend, the call's scratch and the first
 * error. One per API call, never shared between threads. */
typedef struct exec_ctx {
    const backend *be; /* the backend the call's ops go through (set by exec_begin) */
    nt5_status status;
    void *scratch; /* the backend's per-call state (its exec_begin sets it) */
    /* 1: the products' rows are computed as they would be alone, so that an
     * input's result does not depend on the inputs batched with it, provided
     * the rows are placed by the backend's row_classes (the encoder; see
     * forward/row_layout.h). Set after exec_begin. */
    int batch_invariant;
    /* The most CPU threads the call works on (0: all the backend has); a
     * GPU backend ignores it. Set after exec_begin. */
    int max_threads;
} exec_ctx;

/* Where a product's rows may go for batch invariance (exec_ctx
 * batch_invariant). The backend's products compute a row in an order that
 * depends on its place in a block of `block` rows, and only on that
 * place's class (class_of[place]: `count` classes of block / count places
 * each), provided every product's row count is a multiple of block: a row
 * computed at places of the same class, in products of any size, has the
 * same bits. */
#define ROW_CLASSES_MAX_BLOCK 96
typedef struct row_classes {
    size_t block, count;
    unsigned char class_of[ROW_CLASSES_MAX_BLOCK];
} row_classes;

/* Attention over one layer for a batch: out = softmax(q k^T + bias + mask) v,
 * per head, without 1/sqrt(d) scaling (T5). Row r of q/out is query
 * (r / q_len, r % q_len); key j of kv batch b is row b * kv_rows + j of k/v. */
typedef struct attn_args {
    void *out;          /* [batch * q_len, heads * d_kv] in out_dtype, row stride ld_out */
    const float *q;     /* [batch * q_len, heads * d_kv], row stride ld_q */
    const float *k, *v; /* [kv_batch * kv_rows, heads * d_kv], row stride ld_kv */
    size_t ld_out, ld_q, ld_kv;
    size_t batch, q_len, kv_len, kv_rows, heads, d_kv;
    size_t kv_group;         /* query batch b reads kv batch b / kv_group */
    const size_t *kv_valid;  /* [kv_batch] keys < kv_valid are attended; NULL: all */
    const float *bias_table; /* [num_buckets, heads] relative-position table or NULL */
    int bidirectional;       /* bucket mode: encoder (1) or causal decoder (0) */
    int num_buckets, max_distance;
    size_t q_offset;         /* absolute position of query 0 (decoder cache) */
    const int32_t *step_pos; /* backend memory, or NULL: q_offset is then *step_pos and the
                               * attended length kv_len is *step_pos + q_len, kv_len
                               * bounding it (a decoding step a GPU may record and replay) */
    int causal;              /* keys after the query position are masked */
    int32_t compute_dtype;   /* NT5_DTYPE_F32: exact fp32; BF16/F16: the products of a
                               * GPU backend may read q, k, v and the probabilities rounded
                               * to it (fp32 accumulation and softmax) */
    int32_t out_dtype;       /* NT5_DTYPE_F32, or the O product's 16-bit input (see the ops) */
    float out_scale;         /* out_dtype F16 only: out is multiplied by it (2^-input_exp) */
} attn_args;

typedef struct backend_ops {
    const char *name;
    int device; /* NT5_DEVICE_* */
    /* 1: products run in the weights' dtype (fp32 accumulation); 0: always fp32 */
    int computes_in_weight_dtype;
    void (*destroy)(backend *be);
    int (*threads)(const backend *be); /* CPU worker threads per call; 0 for a GPU */
    /* Weights: takes ownership of a malloc'ed host buffer of `bytes` and
     * returns the backend copy (the CPU keeps the buffer itself). NULL on
     * failure (the host buffer is then freed). */
    void *(*adopt_weight)(backend *be, void *host, size_t bytes);
    void (*free_weight)(backend *be, void *w);
    /* Copies `bytes` of a weight buffer to host memory (to save a model);
     * the status, with the message set on failure. */
    nt5_status (*read_weight)(const backend *be, void *host, const void *w, size_t bytes);
    /* Batch invariance (exec_ctx.batch_invariant): how the products' rows
     * must be placed for each to be computed as it would be alone (above);
     * NULL when the backend cannot promise it. Only a backend that computes
     * in fp32 (computes_in_weight_dtype 0) has them. NULL: none. */
    const row_classes *(*row_classes)(const backend *be);

    /* Best effort, at open: makes `bytes` of working memory ready for calls
     * (a GPU backend's pool), so a first call allocates nothing from the
     * driver. Failing changes nothing: calls then allocate as they go. */
    void (*reserve)(backend *be, size_t bytes);
    /* Sets x->scratch (x is zeroed); the error's status when a call cannot start. */
    nt5_status (*exec_begin)(const backend *be, exec_ctx *x);
    nt5_status (*exec_end)(exec_ctx *x); /* waits for the work, frees scratch; x->status */
    /* The caller's own code ran in the middle of a call (a token callback):
     * the backend restores what that code may have changed (a GPU's
     * current device). NULL: nothing to restore. */
    void (*resume)(exec_ctx *x);
    float *(*alloc)(exec_ctx *x, size_t n);
    void (*release)(exec_ctx *x, float *p); /* p may be NULL; runs on a failed context too */
    void (*upload)(exec_ctx *x, float *dst, const float *src, size_t n);
    void (*upload_ints)(exec_ctx *x, int32_t *dst, const int32_t *src, size_t n); /* dst: backend memory */
    void (*download)(exec_ctx *x, float *dst, const float *src, size_t n);
    /* Runs body(x, ctx): a decoding step whose work depends only on backend
     * memory and on what never changes between the calls with this *slot
     * (buffers, shapes). A GPU backend may record the step once and replay
     * the recording for later calls. *slot starts NULL; free_recorded
     * releases it (before the buffers the step uses; on a failed context too). */
    void (*run_recorded)(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx);
    void (*free_recorded)(exec_ctx *x, void *slot);

    /* out[i] = table[ids[i]] : [n, d] ; ids in backend memory */
    void (*embed)(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d);
    /* A product's input may be written in the dtype the product reads
     * (its weight's, on a backend that computes_in_weight_dtype), so the
     * op producing it casts and no separate pass does: out_dtype/in_dtype
     * NT5_DTYPE_F32, or the weight's BF16/F16 with f16 values scaled by
     * 2^-input_exp (dense rows). A backend that computes in fp32 is only
     * ever given NT5_DTYPE_F32. */
    /* out = in * rsqrt(mean(in^2) + eps) * w * scale : [rows, d], in out_dtype */
    void (*rmsnorm)(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                    float eps, float scale);
    /* out[M, N] (+)= in[M, K] @ w[N, K]^T ; accumulate adds to out (residual).
     * in: fp32 rows (stride ld_in), or with in_dtype = w's half dtype the cast
     * input (ld_in = K), which f16 scaled as above. */
    void (*linear)(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in,
                   const wmat *w, size_t M, size_t N, size_t K, int accumulate);
    /* out[M, N] (dense) = relu(in[M, K] @ w[N, K]^T) * out_scale in out_dtype
     * (a non-gated ReLU FFN's first product and activation in one); in as
     * for linear */
    void (*linear_relu)(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                        size_t ld_in, const wmat *w, size_t M, size_t N, size_t K);
    /* out[M, F] = act(in[:, :F]) (* in[:, F:2F] when gated) * out_scale, in
     * out_dtype ; in row stride ld_in */
    void (*ffn_activation)(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                           size_t M, size_t F, activation act, int gated);
    void (*attention)(exec_ctx *x, const attn_args *a);
    /* Greedy decoding's pick when no logits processor applies: per row of
     * logits [rows, V], ids[r] = its argmax (the first on ties) and
     * logprobs[r] = its log_softmax value, as backend/picks.h computes
     * them; ids and logprobs are host memory (only 2 numbers a row leave a GPU). */
    void (*greedy_pick)(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs);
    /* Sampling's pick when no logits processor applies: per row of logits
     * [rows, V], the scores warped by o's temperature, top_k and top_p
     * (pick_warp), then ids[r] = pick_sample(warped, V, u[r]) and logprobs[r] =
     * the unwarped log_softmax at ids[r]; u, ids and logprobs are host memory. */
    void (*sample_pick)(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                        const double *u, int32_t *ids, float *logprobs);
    /* Beam search's candidates when no logits processor applies: per row of
     * logits [rows, V], the n best of log_softmax(row) + base[row] as
     * pick_keep_best orders them (token order on ties), into out[row * n ...]
     * (host memory, as are base and out; only these leave a GPU). */
    void (*beam_candidates)(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                            beam_candidate *out);
    /* p[0:n] = 0 */
    void (*zero)(exec_ctx *x, float *p, size_t n);
    /* dst[0:n] = src in dtype (NT5_DTYPE_F32/F16/BF16); dst is host memory,
     * or with on_device memory of the backend's device (GPU backends). */
    void (*store)(exec_ctx *x, void *dst, int on_device, int32_t dtype, const float *src, size_t n);
    /* A decoding step's rows into a cache: for b < batch, row *pos (pos in
     * backend memory) of block b (blocks every block_stride floats, rows
     * every ld_dst) [cols] = src row b (stride ld_src) */
    void (*append_rows)(exec_ctx *x, float *dst, size_t block_stride, size_t ld_dst, const int32_t *pos,
                        const float *src, size_t ld_src, size_t batch, size_t cols);
    /* dst block b = src block index[b]: the first block_elems floats of
     * blocks that start every `stride` floats (index in backend memory) */
    void (*gather_blocks)(exec_ctx *x, float *dst, const float *src, const int32_t *index, size_t count,
                          size_t block_elems, size_t stride);
} backend_ops;

struct backend {
    const backend_ops *ops;
};

#endif
