/* Reading an nt5 file (format/nt5_format.h): the model's config,
 * tokenizer and metadata, and its tensors as a weight source (F16 matrices
 * scaled back by their power-of-two exponents, blocks as they are or
 * dequantized). */
#ifndef NT5_IMPL_NT5_FILE_READ_H
#define NT5_IMPL_NT5_FILE_READ_H

#include <cjson/cJSON.h>

#include "format/safetensors.h"
#include "model/config.h"
#include "model/weights.h"
#include "tokenizer/tokenizer.h"

/* What an nt5 file says of its model besides the weights. */
typedef struct nt5file_header {
    t5_config cfg;
    tokenizer *tok;       /* NULL when the file has none */
    int max_input_length; /* model_max_length */
    int norms_folded;     /* norm_scales_folded */
    char *source;         /* "org/name@commit", or NULL */
} nt5file_header;

/* Reads the header of an opened nt5 file into *h (zeroed first); tok and
 * source are the caller's to free, also when it fails. */
nt5_status nt5file_read_header(const st_file *f, nt5file_header *h);

typedef struct nt5file_source_state {
    st_file *file;
    cJSON *scales; /* the "f16_scales" metadata, parsed and checked; NULL if none */
    cJSON *blocks; /* the "blocks" metadata, parsed and checked; NULL if none */
} nt5file_source_state;
nt5_status nt5file_source_open(nt5file_source_state *state);
void nt5file_source_close(nt5file_source_state *state);
weight_source nt5file_source(nt5file_source_state *state);

#endif
