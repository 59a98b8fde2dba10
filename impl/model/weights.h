/* The model's weights in backend memory (matrices are backend.h's wmat),
 * in nt5's fused layout: q/k/v fused per self-attention, k/v fused per
 * cross-attention, gate and up fused per gated FFN. Shapes are PyTorch
 * Linear [out, in]. */
#ifndef NT5_IMPL_WEIGHTS_H
#define NT5_IMPL_WEIGHTS_H

#include <stdint.h>

#include "backend/backend.h"
#include "format/weight_names.h"
#include "model/config.h"

typedef struct enc_layer {
    const float *ln_attn; /* [d] */
    wmat qkv;             /* [3 * inner, d] */
    wmat o;               /* [d, inner] */
    const float *bias;    /* [num_buckets, heads]: own or layer 0's */
    const float *ln_ff;   /* [d] */
    wmat wi;              /* [d_ff or 2 * d_ff (gate; up), d] */
    wmat wo;              /* [d, d_ff] */
} enc_layer;

typedef struct dec_layer {
    const float *ln_self, *bias;
    wmat qkv, o;
    const float *ln_cross;
    wmat cross_q;  /* [inner, d] */
    wmat cross_kv; /* [2 * inner, d] */
    wmat cross_o;  /* [d, inner] */
    const float *ln_ff;
    wmat wi, wo;
} dec_layer;

/* One stored tensor, under its nt5 name. */
typedef struct weight_tensor {
    char name[32];
    void *data;                    /* backend memory */
    int32_t dtype;                 /* NT5_DTYPE_* */
    int64_t rows, cols;            /* cols == 0: a vector */
    size_t bytes;                  /* of data, as stored */
    int matrix;                    /* a product's weights (not a norm scale or bias table) */
    int32_t weight_exp, input_exp; /* as in wmat */
    wmat *parts;                   /* [n_parts] (owned): a matrix in parts of different block types (wmat) */
    int32_t n_parts;
} weight_tensor;

typedef struct weights {
    wmat shared; /* [vocab, d] */
    enc_layer *enc;
    const float *enc_final_ln;
    dec_layer *dec; /* NULL when encoder-only */
    const float *dec_final_ln;
    wmat lm_head;           /* [vocab, d]; == shared when tied */
    int32_t matrix_dtype;   /* NT5_DTYPE_* of the matrices (see weights_load for the exceptions) */
    weight_tensor *tensors; /* every tensor loaded (the backend buffers to free) */
    size_t n_tensors;
    size_t non_finite;                  /* NaN and infinite values loaded */
    char first_non_finite[HF_NAME_MAX]; /* the Hugging Face tensor holding the first; "" when none */
} weights;

/* Where weight values come from: a Hugging Face checkpoint, an nt5 file or
 * a random generator. Tensors are asked for by their nt5 names (see
 * weight_names.h); check() says whether the source has one of shape [rows,
 * cols] (cols == 0 for a vector of `rows`), before anything is allocated
 * for it; fill() writes it as floats, checking the same. */
typedef struct weight_source {
    void *self;
    int (*has)(void *self, const char *nt5_name);
    /* NT5_DTYPE_BF16 when the weights are stored in bf16, else NT5_DTYPE_F32 */
    int32_t (*stored_dtype)(void *self);
    nt5_status (*check)(void *self, const char *nt5_name, int64_t rows, int64_t cols);
    /* the calibrated input exponent of a matrix's products (f16 files), -1: none */
    int32_t (*input_exp)(void *self, const char *nt5_name);
    nt5_status (*fill)(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst);
    /* optional (NULL: none): writes the tensor's blocks as the source stores
     * them when that is block dtype `dtype` (quant/block_type.h), for use
     * without requantizing; NT5_ERR_UNSUPPORTED when it stores them otherwise */
    nt5_status (*fill_blocks)(void *self, const char *nt5_name, int64_t rows, int64_t cols, int32_t dtype, void *dst);
    /* optional: the blocks of each of the tensor's n_parts equal row parts
     * (format/weight_names.h) as the source stores them, one after another,
     * when each part is in a block type nt5 holds whose rows fit cols
     * (part_dtypes[i] says which); NT5_ERR_UNSUPPORTED when one is not */
    nt5_status (*fill_part_blocks)(void *self, const char *nt5_name, int64_t rows, int64_t cols, int n_parts,
                                   int32_t *part_dtypes, void *dst);
    /* how the source stores its weights, for people ("F8_E4M3 168, F16 52") */
    void (*describe)(void *self, char *out, size_t cap);
} weight_source;

/* Matrices are stored as matrix_dtype (NT5_DTYPE_F32, NT5_DTYPE_BF16,
 * NT5_DTYPE_F16 with a power-of-two exponent per matrix, or ggml blocks:
 * NT5_DTYPE_Q8_0, _Q6_K, _Q5_K, _Q4_K); norm scales and position-bias
 * tables stay fp32. With blocks a matrix the source stores in blocks of
 * a type nt5 holds keeps them as they are; the others are quantized: the
 * embedding into Q8_0 (fp32 when tied to the lm_head), a matrix whose rows
 * are not whole blocks into Q8_0 (32-value blocks), or else fp32: each
 * wmat carries its own dtype. A fused matrix whose parts the source stores
 * in different block types held as they are is kept in parts (wmat's). */
nt5_status weights_load(const t5_config *cfg, int with_decoder, int32_t matrix_dtype, const weight_source *src,
                        backend *be, weights *w);
void weights_free(weights *w, backend *be);

#endif
