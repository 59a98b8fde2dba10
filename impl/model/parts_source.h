/* A weight source that makes each nt5 tensor from the Hugging Face tensors
 * it is stacked from (format/weight_names.h; the embedding also goes by
 * encoder.embed_tokens and decoder.embed_tokens), over one file format's
 * reader of such a part: checkpoints (checkpoint_source.h) and GGUF files
 * (gguf_source.h). */
#ifndef NT5_IMPL_PARTS_SOURCE_H
#define NT5_IMPL_PARTS_SOURCE_H

#include "model/weights.h"

typedef struct part_reader {
    void *self;
    /* the part named `hf` (a Hugging Face name), or NULL when the file has none */
    const void *(*find)(void *self, const char *hf);
    /* the error for a part the file does not have, naming it as the file would */
    nt5_status (*missing)(void *self, const char *hf);
    /* checks the part's shape against [rows, cols] (cols == 0: a vector) and,
     * unless dst is NULL, writes its values as floats */
    nt5_status (*read)(void *self, const void *part, const char *hf, int64_t rows, int64_t cols, float *dst);
    /* optional: the part's blocks as stored when they are `dtype` (weight_source's fill_blocks) */
    nt5_status (*read_blocks)(void *self, const void *part, const char *hf, int64_t rows, int64_t cols, int32_t dtype,
                              void *dst);
    /* as weight_source's */
    int32_t (*stored_dtype)(void *self);
    void (*describe)(void *self, char *out, size_t cap);
} part_reader;

typedef struct parts_source_state {
    part_reader reader;
    const t5_config *cfg;
} parts_source_state;

weight_source parts_source(parts_source_state *state);

#endif
