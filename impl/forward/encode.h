/* One encode call: the encoder over a padded batch, its hidden states
 * stored in the output dtype where the caller wants them. */
#ifndef NT5_IMPL_ENCODE_H
#define NT5_IMPL_ENCODE_H

#include "model/inputs.h"
#include "model/model.h"

typedef struct encode_output {
    void *dst; /* [batch, len, d_model] in dtype: host memory, or with on_device the device's */
    int on_device;
    int32_t dtype;    /* NT5_DTYPE_F32, F16 or BF16 */
    int attend_all;   /* no mask: padding tokens are attended like any other (Flux, SD3) */
    int zero_padding; /* padded positions' hidden states are written as zeros */
    int max_threads;  /* the most CPU threads the call works on (0: all the backend has) */
} encode_output;

/* Encodes `in` on be: m's backend, or one wrapping it (backend/observing.h). */
nt5_status encode_run(const nt5_model *m, const backend *be, const batch_input *in, const encode_output *out);

#endif
