/* The model configuration, normalised from a Hugging Face config.json. */
#ifndef NT5_IMPL_CONFIG_H
#define NT5_IMPL_CONFIG_H

#include <cjson/cJSON.h>

#include "backend/backend.h"
#include "nt5.h"

typedef struct t5_config {
    int model_type; /* NT5_MODEL_* */
    int d_model, d_kv, d_ff, num_heads, num_layers, num_decoder_layers, vocab_size;
    int num_buckets, max_distance;
    float eps;
    int gated;
    activation act;
    int tie_word_embeddings;
    int pad_id, eos_id, decoder_start_id;
    int bias_every_layer; /* UMT5: each layer owns its relative-position table */
} t5_config;

/* Fills `cfg` from a parsed config.json; `what` names it in errors. */
nt5_status config_from_json(const cJSON *root, const char *what, t5_config *cfg);
/* config_from_json of an inferred config (config.json keys, from a file
 * without config.json), with every key of the config.json at override_path
 * (when not NULL) replacing or adding to them. */
nt5_status config_from_inferred(cJSON *inferred, const char *override_path, const char *what, t5_config *cfg);
/* The config as Hugging Face config.json keys (config_from_json reads it back). */
cJSON *config_to_json(const t5_config *cfg);
const char *config_model_type_name(int model_type);
const char *config_activation_name(activation act);

#endif
