/* Turning a call's texts or ids into a padded batch of token ids. */
#ifndef NT5_IMPL_INPUTS_H
#define NT5_IMPL_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef struct input_spec {
    const char *const *texts; /* either texts ... */
    const int32_t *ids;       /* ... or ids laid out row after row */
    const size_t *lengths;
    size_t batch;
} input_spec;

typedef struct batch_input {
    int32_t *ids;    /* [batch, len], right-padded with the pad id */
    size_t *lengths; /* [batch] real tokens per row */
    size_t batch, len;
} batch_input;

/* max_length 0 = the model's default; pad_to_max 0 pads to the longest row. */
nt5_status inputs_prepare(const nt5_model *m, const input_spec *in, int32_t max_length, int truncation, int pad_to_max,
                          batch_input *out);
void inputs_free(batch_input *b);

#endif
