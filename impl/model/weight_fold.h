/* Norm-scale folding: a weight source over another in which each RMSNorm
 * scale that feeds matrix products is multiplied into their input columns
 * (W[n, k] * g[k]) and the norm itself reads as ones, so the forward gives
 * the same function with one multiply less per norm.
 *
 * Folded: enc ln_attn -> qkv, enc ln_ff -> wi, dec ln_self -> qkv,
 * dec ln_cross -> cross_q, dec ln_ff -> wi, and dec.final_ln -> lm_head for
 * untied models. Kept: enc.final_ln (it scales the encoder's output) and a
 * tied model's dec.final_ln (its lm_head is the input embedding). */
#ifndef NT5_IMPL_WEIGHT_FOLD_H
#define NT5_IMPL_WEIGHT_FOLD_H

#include "model/weights.h"

typedef struct fold_state {
    const weight_source *inner;
    const t5_config *cfg;
} fold_state;

weight_source folding_source(fold_state *state);

#endif
