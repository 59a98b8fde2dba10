/* Seeded random weights with the spread of a trained model's, as a
 * weight source: every tensor exists, each drawn from the seed and its name. */
#ifndef NT5_IMPL_RANDOM_SOURCE_H
#define NT5_IMPL_RANDOM_SOURCE_H

#include <stdint.h>

#include "model/weights.h"

typedef struct random_source_state {
    uint64_t seed;
    int64_t inner; /* num_heads * d_kv: the query rows of a fused qkv matrix */
    int64_t d_kv;
} random_source_state;

weight_source random_source(random_source_state *state);

#endif
