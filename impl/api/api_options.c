#include "api/api_options.h"

#include <stddef.h>

#include "base/options.h"

static const nt5_model_options api_model_defaults = {
    .struct_size = sizeof(nt5_model_options),
    .device = NULL,
    .num_threads = 0,
    .encoder_only = 0,
    .weight_dtype = NT5_DTYPE_AUTO,
};

/* the smallest struct a caller may pass: struct_size and the first field */
#define MODEL_OPTIONS_MIN (offsetof(nt5_model_options, device) + sizeof(const char *))

nt5_status nt5_model_options_init(nt5_model_options *opts, uint32_t struct_size) {
    return opts_init(opts, struct_size, &api_model_defaults, MODEL_OPTIONS_MIN, sizeof *opts, "nt5_model_options");
}

nt5_status api_model_options(const nt5_model_options *opts, nt5_model_options *out) {
    *out = api_model_defaults;
    return opts_overlay(out, sizeof *out, opts, MODEL_OPTIONS_MIN, "nt5_model_options");
}
