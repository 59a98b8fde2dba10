/*
 * nt5_experimental.h - unstable additions to nt5.h.
 *
 * Opt in with `#define NT5_EXPERIMENTAL` before including this header. These
 * functions live in the NT5_EXPERIMENTAL version node, are not covered by
 * the ABI promise and are not part of the generated bindings: they may change
 * or disappear in any release.
 */
#ifndef NT5_EXPERIMENTAL_H
#define NT5_EXPERIMENTAL_H

#ifndef NT5_EXPERIMENTAL
#error "define NT5_EXPERIMENTAL before including nt5_experimental.h"
#endif

#include "nt5.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Builds a model from a Hugging Face config.json text with random weights
 * (seeded; values of a trained model's scale) and no tokenizer: for
 * benchmarks and tests of shapes nobody wants to download. */
NT5_API nt5_status nt5_model_open_random(const char *config_json, uint64_t seed,
                                         const nt5_model_options *opts, nt5_model **out);

#ifdef __cplusplus
}
#endif

#endif
