/* Greedy decoding and sampling: one decoder row per input. */
#ifndef NT5_IMPL_SEARCH_GREEDY_H
#define NT5_IMPL_SEARCH_GREEDY_H

#include "generate/search.h"

/* g->out[b] for each input b (the caller frees their ids). */
nt5_status search_greedy(gen_call *g);

#endif
