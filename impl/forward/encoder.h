/* The T5 encoder stack, written once against the backend's ops. */
#ifndef NT5_IMPL_ENCODER_H
#define NT5_IMPL_ENCODER_H

#include "backend/backend.h"
#include "model/config.h"
#include "forward/row_layout.h"
#include "model/weights.h"

/* Encoder over `batch` inputs of len tokens. lay: NULL, the products'
 * rows being the inputs' [batch * len], ids [batch, len] (host memory); or
 * where the rows go (forward/row_layout.h; len its stride, ids its ids).
 * valid: [batch] real-token counts; keys at positions >= valid[b] are
 * masked. NULL attends to every position (no mask). out: backend buffer
 * [batch * len, d_model] in input order (with lay, rows it does not compute
 * hold another row's states). */
void encoder_forward(exec_ctx *x, const t5_config *c, const weights *w, const int32_t *ids, size_t batch, size_t len,
                     const size_t *valid, const row_layout *lay, float *out);

#endif
