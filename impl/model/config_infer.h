/* A config for a checkpoint that comes without config.json (a ComfyUI or
 * Forge single file): the shape read from its tensors, the rest from the
 * T5 family's defaults (layer_norm_epsilon 1e-6, 32 buckets, max distance
 * 128, token ids pad 0, eos 1, decoder start 0). */
#ifndef NT5_IMPL_CONFIG_INFER_H
#define NT5_IMPL_CONFIG_INFER_H

#include <cjson/cJSON.h>

#include "format/checkpoint.h"

/* The config as Hugging Face config.json keys (config_from_json reads it):
 * d_model and vocab_size from the embedding, heads and buckets from the
 * position-bias table, d_kv from q, d_ff and gated-gelu or relu from the
 * FFN (wi_0 or wi), layer counts from the blocks present, tied embeddings
 * when there is a decoder and no lm_head (or, without a decoder, for a
 * ReLU FFN as in T5 v1.0), model_type umt5 when every block has its own
 * bias table. `what` names the checkpoint in errors. */
nt5_status config_infer(const checkpoint *ck, const char *what, cJSON **config);

#endif
