/* A Hugging Face checkpoint (format/checkpoint.h) as a weight source. */
#ifndef NT5_IMPL_CHECKPOINT_SOURCE_H
#define NT5_IMPL_CHECKPOINT_SOURCE_H

#include "format/checkpoint.h"
#include "model/weights.h"

typedef struct checkpoint_source_state {
    checkpoint *ck;
    const t5_config *cfg;
} checkpoint_source_state;

weight_source checkpoint_source(checkpoint_source_state *state);

#endif
