/* nt5's own model file: one safetensors container with the weights in nt5's
 * fused layout under nt5 names (format/weight_names.h), the normalised config
 * and the tokenizer, so that opening it needs nothing else. This header
 * holds what reading and writing one agree on; model/nt5_file_read.h and
 * model/nt5_file_write.h do the rest.
 *
 * Tensors: every weight in load order; a model with a decoder always has an
 * explicit "lm_head" (for a tied model it holds the embedding's values, and
 * nt5 loads one copy); the tokenizer's sentencepiece model is the U8 tensor
 * "tokenizer.spiece". Matrices are F32, BF16 or F16, or (format 2) ggml
 * blocks (quant/block_type.h: Q8_0, Q6_K, Q5_K, Q4_K), stored as U8
 * tensors [rows, bytes of a row] as GGUF files lay them out and named in
 * the "blocks" metadata; (format 3) a fused matrix whose equal row parts
 * (format/weight_names.h) differ in block type, as a GGUF _M mix's q, k
 * and v do, is a U8 vector of each part's blocks one after another, its
 * entry naming the parts' types in order ("Q4_K+Q4_K+Q6_K"); norm scales
 * and position-bias tables are F32.
 *
 * __metadata__: format "nt5", nt5_format "1", or "2" when it holds blocks,
 * "3" when it holds a matrix in parts
 * (this file's version, separate from the ABI's), config (config.json
 * text), weight_dtype ("f32", "bf16", "f16", "q8_0", "q6_k", "q5_k",
 * "q4_k"), blocks (format 2: JSON {"<tensor>": "Q4_K", ...}, every tensor
 * stored in blocks and their type), has_decoder, norm_scales_folded ("1": the RMSNorm scales were
 * multiplied into the matrices and read as ones), tokenizer_extra_ids,
 * model_max_length, for models from the Hub source ("org/name@commit"), and
 * for f16 files:
 *   f16_headroom: the factor kept between calibrated maxima and 65504;
 *   f16_scales: JSON {"<matrix>": {"weight_exp": w, "input_exp": a,
 *     "input_absmax": x}}: the stored values are the weights times 2^-w
 *     (the largest in (2^14, 2^15]); a product's input in f16 is to be
 *     divided by 2^a, the smallest a >= 0 with x * headroom / 2^a <= 65504,
 *     where x is the largest |input| seen by the fp32 calibration run; the
 *     product is then multiplied by 2^(w + a), exactly. */
#ifndef NT5_IMPL_NT5_FORMAT_H
#define NT5_IMPL_NT5_FORMAT_H

#include <cjson/cJSON.h>

#include "format/safetensors.h"
#include "format/weight_names.h"
#include "quant/block_type.h"

#define NT5_FILE_FORMAT_VERSION "1"
#define NT5_FILE_FORMAT_BLOCKS "2" /* the version of files that hold ggml blocks */
#define NT5_FILE_FORMAT_PARTS "3"  /* the version of files that hold a matrix in parts of different block types */
#define NT5_FILE_DEFAULT_HEADROOM 8.0f
#define NT5_FILE_SPIECE_TENSOR "tokenizer.spiece"

/* Whether f says it is an nt5 file (metadata format "nt5"), of any version. */
int nt5file_is(const st_file *f);
/* Whether f is an nt5 file of a format version this library reads (1, 2). */
nt5_status nt5file_check(const st_file *f);
/* A metadata value that must be an integer in [0, 1000000]. */
nt5_status nt5file_int(const st_file *f, const char *key, int *out);
/* The f16_scales metadata, parsed and checked: every entry an object with a
 * weight_exp in [-64, 64] and, if any, an input_exp in [0, 64]; *scales is
 * NULL when the file has none. */
nt5_status nt5file_scales(const st_file *f, cJSON **scales);
/* The blocks metadata, parsed and checked: an object whose values name
 * block types; *blocks is NULL when the file has none. */
nt5_status nt5file_blocks(const st_file *f, cJSON **blocks);
/* The block type of tensor `name` in checked blocks metadata, or NULL
 * (also for a matrix in parts). */
const block_type *nt5file_block_type(const cJSON *blocks, const char *name);
/* The block types of tensor `name` in checked blocks metadata: one, or
 * each part's of a matrix in parts; their count, 0 when it has none. */
int nt5file_part_types(const cJSON *blocks, const char *name, const block_type *types[HF_PARTS_MAX]);
/* A matrix's exponents in checked scales: weight_exp (0 when absent) and
 * input_exp (-1 when absent). */
int32_t nt5file_weight_exp(const cJSON *scales, const char *matrix);
int32_t nt5file_input_exp(const cJSON *scales, const char *matrix);
/* The input exponent a product gets: the smallest e >= 0 that keeps absmax
 * times the headroom within f16's range once divided by 2^e. */
int32_t nt5file_pick_input_exp(float absmax, float headroom);

#endif
