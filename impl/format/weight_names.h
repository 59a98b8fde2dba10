/* nt5's names for its (fused) tensors, and the Hugging Face tensors each one
 * is made of. nt5 names: "shared", "lm_head", "enc.final_ln", "dec.final_ln",
 * "enc.<i>.<field>" with field ln_attn, qkv, o, bias, ln_ff, wi, wo, and
 * "dec.<i>.<field>" with ln_self, qkv, o, bias, ln_cross, cross_q, cross_kv,
 * cross_o, ln_ff, wi, wo. */
#ifndef NT5_IMPL_WEIGHT_NAMES_H
#define NT5_IMPL_WEIGHT_NAMES_H

#define HF_NAME_MAX 160
#define HF_PARTS_MAX 3

/* Writes the Hugging Face names whose tensors, stacked by rows in this
 * order, make the nt5 tensor; returns how many (0 for an unknown name).
 * gated_ffn: the model's FFN is gated (wi_0, wi_1 make "wi"). "shared"
 * maps to "shared.weight" (checkpoints may name it otherwise). */
int hf_parts(int gated_ffn, const char *nt5_name, char parts[HF_PARTS_MAX][HF_NAME_MAX]);

/* Whether an encoder-only model needs the Hugging Face tensor `name` (all
 * but decoder.* and lm_head.*). */
int hf_name_needed_by_encoder(const char *name);

#endif
