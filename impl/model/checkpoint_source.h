/* A Hugging Face checkpoint (format/checkpoint.h) as a weight source. */
#ifndef NT5_IMPL_CHECKPOINT_SOURCE_H
#define NT5_IMPL_CHECKPOINT_SOURCE_H

#include "format/checkpoint.h"
#include "model/parts_source.h"

typedef struct checkpoint_source_state {
    checkpoint *ck;
    const t5_config *cfg;
    parts_source_state parts; /* set by checkpoint_source */
} checkpoint_source_state;

weight_source checkpoint_source(checkpoint_source_state *state);

#endif
