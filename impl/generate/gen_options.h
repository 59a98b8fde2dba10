/* Generation options: their defaults and what values generation accepts. */
#ifndef NT5_IMPL_GEN_OPTIONS_H
#define NT5_IMPL_GEN_OPTIONS_H

#include "nt5.h"

/* What nt5_generate_options_init() fills in: greedy, 64 new tokens. */
extern const nt5_generate_options gen_default_options;
/* NT5_ERR_INVALID_ARG (or UNSUPPORTED) naming the first field out of range. */
nt5_status gen_check_options(const nt5_generate_options *o);

#endif
