/* The weight dtypes stored in ggml's blocks (NT5_DTYPE_Q8_0, _Q6_K, _Q5_K,
 * _Q4_K): what a loader, a kernel or a writer needs to know of each. */
#ifndef NT5_IMPL_QUANT_BLOCK_TYPE_H
#define NT5_IMPL_QUANT_BLOCK_TYPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct block_type {
    int32_t dtype;      /* NT5_DTYPE_* */
    const char *name;   /* "Q4_K", as ggml names it */
    uint32_t ggml_type; /* its GGUF type id */
    size_t values;      /* per block: 32 or 256; a row holds whole blocks */
    size_t bytes;       /* per block */
    /* x[n] (finite, whole blocks) into blocks, as ggml's reference
     * quantizer; blocks may be x itself */
    void (*quantize)(const float *x, size_t n, void *blocks);
    void (*dequantize)(const void *blocks, size_t n, float *y);
} block_type;

/* The block type of an NT5_DTYPE_*, or NULL for f32, f16 and bf16. */
const block_type *block_type_of(int32_t dtype);
/* The block type named `name` ("Q4_K"), or NULL. */
const block_type *block_type_named(const char *name);
/* The block type stored as GGUF type id `ggml_type`, or NULL. */
const block_type *block_type_of_ggml(uint32_t ggml_type);
/* Bytes of n values (whole blocks). */
size_t block_type_row_bytes(const block_type *t, size_t n);
/* Blocks among n values whose scales (d, and dmin where the type has one)
 * are NaN or infinite: such blocks are refused at load. */
size_t block_type_bad_scales(const block_type *t, const void *blocks, size_t n);

#endif
