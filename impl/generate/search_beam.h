/* Beam search with Hugging Face's BeamSearchScorer semantics. */
#ifndef NT5_IMPL_SEARCH_BEAM_H
#define NT5_IMPL_SEARCH_BEAM_H

#include "generate/search.h"

/* g->out[b * num_return_sequences + j]: input b's j-th best hypothesis
 * (the caller frees their ids). */
nt5_status search_beam(gen_call *g);

#endif
