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
NT5_API nt5_status nt5_model_open_random(const char *config_json, uint64_t seed, const nt5_model_options *opts,
                                         nt5_model **out);

/* Runs texts through the model on the CPU (each encoded and, with a
 * decoder, decoded greedily for up to 32 tokens) and reports every matrix
 * product's input range as JSON:
 *   {"emulate_f16": bool, "products": [{"matrix": "enc.0.qkv",
 *    "input_absmax": x, "non_finite": bool, "input_exp": a}, ...],
 *    "first_non_finite": "enc.0.wo" or null, "non_finite_weights": n,
 *    "first_non_finite_weight": "encoder.block.0.layer.1.DenseReluDense.wo.weight" or null}
 * with the products in forward order (input_exp only for f16 files). With
 * NT5_DIAGNOSE_EMULATE_F16 (f16 nt5 files) each product's input is first
 * rounded to f16 after dividing by 2^input_exp, as the half-precision GPU
 * path computes it, so an input scale too small shows as the first
 * non-finite product. The report goes into json like nt5_detokenize's text
 * (NT5_ERR_BUFFER_TOO_SMALL with *length set when it does not fit; the run
 * is then repeated by the next call). */
#define NT5_DIAGNOSE_EMULATE_F16 1
NT5_API nt5_status nt5_model_diagnose(const nt5_model *model, const char *const *texts, size_t count, int32_t flags,
                                      char *json, size_t capacity, size_t *length);

/* Teacher forcing, for accuracy checks against other engines: the encoder
 * runs on input_ids[0..n_input) (as nt5_generate_ids takes one row), the
 * decoder on decoder_ids[0..n) (each in [0, vocab_size); decoder_ids[0]
 * is normally the decoder start token, 0), one token a step through the
 * cache as generation runs it, and logits[t * vocab_size + v] receives the
 * lm_head's output after decoder_ids[0..t]: fp32, before any logits
 * processor. capacity is the floats logits holds: NT5_ERR_BUFFER_TOO_SMALL
 * below n * vocab_size (nt5_model_info.vocab_size). */
NT5_API nt5_status nt5_teacher_forced_logits(const nt5_model *model, const int32_t *input_ids, size_t n_input,
                                             const int32_t *decoder_ids, size_t n, float *logits, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
