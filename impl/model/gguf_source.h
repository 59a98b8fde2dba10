/* A GGUF file (format/gguf.h) of llama.cpp's T5 or T5ENCODER architecture as
 * a weight source (parts_source.h): the Hugging Face parts under their GGUF
 * names (format/gguf_names.h), dequantized exactly (format/gguf_quants.h). */
#ifndef NT5_IMPL_GGUF_SOURCE_H
#define NT5_IMPL_GGUF_SOURCE_H

#include "format/gguf.h"
#include "model/parts_source.h"

typedef struct gguf_source_state {
    const gguf_file *file;
    const t5_config *cfg;
    parts_source_state parts; /* set by gguf_source */
} gguf_source_state;

weight_source gguf_source(gguf_source_state *state);

#endif
