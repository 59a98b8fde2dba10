/* The T5 encoder stack, written once against the backend's ops. */
#ifndef NT5_IMPL_ENCODER_H
#define NT5_IMPL_ENCODER_H

#include "backend/backend.h"
#include "model/config.h"
#include "model/weights.h"

/* Encoder over ids [batch, len] (host memory). valid: [batch] real-token
 * counts; keys at positions >= valid[b] are masked. NULL attends to every
 * position (no mask). out: backend buffer [batch * len, d_model]. */
void encoder_forward(exec_ctx *x, const t5_config *c, const weights *w, const int32_t *ids, size_t batch, size_t len,
                     const size_t *valid, float *out);

#endif
