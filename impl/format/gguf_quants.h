/* ggml's tensor types as GGUF files store them: names, block layouts, and
 * dequantization to float bit-identical to ggml's reference C code
 * (ggml-quants.c, dequantize_row_*) and gguf-py's gguf.quants.dequantize. */
#ifndef NT5_IMPL_GGUF_QUANTS_H
#define NT5_IMPL_GGUF_QUANTS_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

/* ggml's type ids (ggml.h's enum ggml_type); the gaps (4, 5, 31-33, 36-38)
 * are ids ggml has retired. */
enum {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_IQ2_XXS = 16,
    GGML_TYPE_IQ2_XS = 17,
    GGML_TYPE_IQ3_XXS = 18,
    GGML_TYPE_IQ1_S = 19,
    GGML_TYPE_IQ4_NL = 20,
    GGML_TYPE_IQ3_S = 21,
    GGML_TYPE_IQ2_S = 22,
    GGML_TYPE_IQ4_XS = 23,
    GGML_TYPE_I8 = 24,
    GGML_TYPE_I16 = 25,
    GGML_TYPE_I32 = 26,
    GGML_TYPE_I64 = 27,
    GGML_TYPE_F64 = 28,
    GGML_TYPE_IQ1_M = 29,
    GGML_TYPE_BF16 = 30,
    GGML_TYPE_TQ1_0 = 34,
    GGML_TYPE_TQ2_0 = 35,
    GGML_TYPE_MXFP4 = 39,
    GGML_TYPE_NVFP4 = 40,
    GGML_TYPE_Q1_0 = 41,
};

/* A type's layout: a row of a tensor is a whole number of blocks, each of
 * block_size elements stored in type_size bytes (F32: 1 element, 4 bytes;
 * Q4_K: 256 elements, 144 bytes). */
typedef struct gguf_type_info {
    const char *name; /* "Q4_K", as ggml names it */
    uint32_t block_size;
    uint32_t type_size;
} gguf_type_info;

/* The layout of ggml type `type`, or NULL for an id ggml does not define. */
const gguf_type_info *gguf_type_lookup(uint32_t type);

/* Converts n_elements of ggml type `type` from `blocks` (little-endian,
 * n_elements / block_size * type_size bytes, any alignment) into dst
 * [n_elements]. Converts F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and
 * Q2_K..Q6_K; other known types are NT5_ERR_UNSUPPORTED naming the type,
 * unknown ids NT5_ERR_FORMAT, n_elements that are not whole blocks
 * NT5_ERR_INVALID_ARG. A range of whole rows of a tensor converts alone. */
nt5_status gguf_dequantize(uint32_t type, const void *blocks, size_t n_elements, float *dst);

#endif
