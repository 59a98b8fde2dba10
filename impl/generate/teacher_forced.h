/* Teacher forcing: the decoder's logits for a given decoder sequence, one
 * token a step through the cache, as generation computes them (for
 * accuracy checks against other engines and the reference fixtures). */
#ifndef NT5_IMPL_TEACHER_FORCED_H
#define NT5_IMPL_TEACHER_FORCED_H

#include "model/inputs.h"

/* logits[b, t, vocab] (host) = the lm_head's output for row b of `in`
 * after decoder ids ids[0..t] (the same ids in every row), t < n. */
nt5_status teacher_forced_logits(const nt5_model *m, const batch_input *in, const int32_t *ids, size_t n,
                                 float *logits);

#endif
