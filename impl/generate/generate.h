/* Encoder-decoder generation: the encoder, then greedy, sampling or beam
 * search over the decoder with its cache. */
#ifndef NT5_IMPL_GENERATE_H
#define NT5_IMPL_GENERATE_H

#include "generate/search.h"

/* Checked options -> sequences out[batch * num_return_sequences] (the
 * caller frees out[i].ids), run on be: m's backend, or one wrapping it
 * (backend/observing.h). */
nt5_status generate_run(const nt5_model *m, const backend *be, const nt5_generate_options *o, const batch_input *in,
                        gen_sequence *out);

#endif
