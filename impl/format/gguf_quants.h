/* ggml's tensor types as GGUF files store them: names, block layouts, and
 * dequantization to float bit-identical to ggml's reference C code
 * (ggml-quants.c, dequantize_row_*) and gguf-py's gguf.quants.dequantize. */
#ifndef NT5_IMPL_GGUF_QUANTS_H
#define NT5_IMPL_GGUF_QUANTS_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"
#include "quant/ggml_types.h"

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
