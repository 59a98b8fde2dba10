/* Model options as the public calls read them: the defaults
 * (nt5_model_options_init), and a caller's (possibly older, smaller) struct
 * overlaid on them. */
#ifndef NT5_IMPL_API_OPTIONS_H
#define NT5_IMPL_API_OPTIONS_H

#include "nt5.h"

/* *out = the defaults, overlaid with opts (NULL: the defaults alone) after
 * checking its struct_size. */
nt5_status api_model_options(const nt5_model_options *opts, nt5_model_options *out);

#endif
