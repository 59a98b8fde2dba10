/* nt5's own model file: one safetensors container with the weights in nt5's
 * fused layout under nt5 names (weight_names.h), the normalised config and
 * the tokenizer, so that nt5_model_open() needs nothing else.
 *
 * Tensors: every weight in load order; a model with a decoder always has an
 * explicit "lm_head" (for a tied model it holds the embedding's values, and
 * nt5 loads one copy); the tokenizer's sentencepiece model is the U8 tensor
 * "tokenizer.spiece". Matrices are F32, BF16 or F16; norm scales and
 * position-bias tables are F32.
 *
 * __metadata__: format "nt5", nt5_format "1" (this file's version, separate
 * from the ABI's), config (config.json text), weight_dtype ("f32", "bf16",
 * "f16"), has_decoder, norm_scales_folded ("1": the RMSNorm scales were
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
#ifndef NT5_IMPL_NT5_FILE_H
#define NT5_IMPL_NT5_FILE_H

#include "model/model.h"
#include "format/safetensors.h"

#define NT5_FILE_FORMAT_VERSION "1"

#define NT5_FILE_DEFAULT_HEADROOM 8.0f

typedef struct nt5file_layout {
    int32_t dtype;              /* matrices: NT5_DTYPE_F32, BF16, F16, or AUTO: as loaded */
    const float *input_absmax;  /* F16: [n_tensors] calibrated input maxima per matrix (< 0: none), or NULL */
    float headroom;             /* F16: 0 = NT5_FILE_DEFAULT_HEADROOM */
    nt5_progress_callback progress; /* optional: "writing <path>", bytes done and in all; nonzero cancels */
    void *user_data;
} nt5file_layout;

/* Writes the model to `path` through a temporary file and a rename. */
nt5_status nt5file_write(const nt5_model *m, const char *path, const nt5file_layout *layout);
/* nt5file_write with the weights as loaded. */
nt5_status nt5file_save(const nt5_model *m, const char *path);
/* Reads the config and tokenizer of an opened nt5 file into m (weights are
 * read through nt5_file_source). */
nt5_status nt5file_read_header(const st_file *f, nt5_model *m);

#endif
