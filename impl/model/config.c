#include "model/config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/json_file.h"

static const struct {
    const char *name;
    int type;
    int tie_default;
    const char *ffn_default;
} model_types[] = {
    {"t5", NT5_MODEL_T5, 1, "relu"},
    {"mt5", NT5_MODEL_MT5, 0, "gated-gelu"},
    {"umt5", NT5_MODEL_UMT5, 1, "gated-gelu"},
};

static const struct {
    const char *name;
    activation act;
} activations[] = {
    {"relu", ACT_RELU}, {"gelu", ACT_GELU},  {"gelu_new", ACT_GELU_TANH}, {"gelu_pytorch_tanh", ACT_GELU_TANH},
    {"silu", ACT_SILU}, {"swish", ACT_SILU},
};

const char *config_model_type_name(int model_type) {
    for (size_t i = 0; i < sizeof model_types / sizeof model_types[0]; i++)
        if (model_types[i].type == model_type) return model_types[i].name;
    return "unknown";
}

const char *config_activation_name(activation act) {
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++)
        if (activations[i].act == act) return activations[i].name;
    return "unknown";
}

/* Reads an integer field; `fallback` < 0 makes it required. */
static nt5_status read_int(const cJSON *root, const char *key, int fallback, int min, int max, const char *what,
                           int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (fallback < 0) return err_set(NT5_ERR_FORMAT, "%s: required field \"%s\" is missing", what, key);
        *out = fallback;
        return NT5_OK;
    }
    double d = cJSON_GetNumberValue(v);
    if (!cJSON_IsNumber(v) || d != floor(d) || d < min || d > max)
        return err_set(NT5_ERR_FORMAT, "%s: \"%s\" must be an integer in [%d, %d]", what, key, min, max);
    *out = (int)d;
    return NT5_OK;
}

static nt5_status parse_activation(const char *name, const char *what, activation *act) {
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++) {
        if (strcmp(activations[i].name, name) == 0) {
            *act = activations[i].act;
            return NT5_OK;
        }
    }
    return err_set(NT5_ERR_UNSUPPORTED, "%s: unsupported activation \"%s\"", what, name);
}

/* feed_forward_proj: "gated-gelu" (gelu_new, as Hugging Face special-cases
 * it), "gated-ACT" or "ACT". */
static nt5_status parse_ffn(const char *proj, const char *what, t5_config *cfg) {
    if (strcmp(proj, "gated-gelu") == 0) {
        cfg->gated = 1;
        cfg->act = ACT_GELU_TANH;
        return NT5_OK;
    }
    const char *act = proj;
    cfg->gated = 0;
    if (strncmp(proj, "gated-", 6) == 0) {
        cfg->gated = 1;
        act = proj + 6;
    }
    if (strchr(act, '-'))
        return err_set(NT5_ERR_FORMAT, "%s: feed_forward_proj \"%s\" is not ACT or gated-ACT", what, proj);
    return parse_activation(act, what, &cfg->act);
}

nt5_status config_from_json(const cJSON *root, const char *what, t5_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(mt)) return err_set(NT5_ERR_FORMAT, "%s: \"model_type\" is missing or not a string", what);
    size_t k = 0;
    while (k < sizeof model_types / sizeof model_types[0] && strcmp(model_types[k].name, mt->valuestring) != 0) k++;
    if (k == sizeof model_types / sizeof model_types[0])
        return err_set(NT5_ERR_UNSUPPORTED, "%s: unknown model type \"%s\" (nt5 runs \"t5\", \"mt5\" and \"umt5\")",
                       what, mt->valuestring);
    cfg->model_type = model_types[k].type;
    cfg->bias_every_layer = cfg->model_type == NT5_MODEL_UMT5;

    const int big = 1 << 24;
    nt5_status st;
    if ((st = read_int(root, "d_model", -1, 1, big, what, &cfg->d_model)) ||
        (st = read_int(root, "d_kv", -1, 1, 4096, what, &cfg->d_kv)) ||
        (st = read_int(root, "d_ff", -1, 1, big, what, &cfg->d_ff)) ||
        (st = read_int(root, "num_heads", -1, 1, 1024, what, &cfg->num_heads)) ||
        (st = read_int(root, "num_layers", -1, 1, 1024, what, &cfg->num_layers)) ||
        (st = read_int(root, "num_decoder_layers", cfg->num_layers, 0, 1024, what, &cfg->num_decoder_layers)) ||
        (st = read_int(root, "vocab_size", -1, 2, 1 << 22, what, &cfg->vocab_size)) ||
        (st = read_int(root, "relative_attention_num_buckets", 32, 2, 4096, what, &cfg->num_buckets)) ||
        (st = read_int(root, "relative_attention_max_distance", 128, 1, 1 << 20, what, &cfg->max_distance)) ||
        (st = read_int(root, "pad_token_id", 0, 0, cfg->vocab_size - 1, what, &cfg->pad_id)) ||
        (st = read_int(root, "eos_token_id", 1, 0, cfg->vocab_size - 1, what, &cfg->eos_id)) ||
        (st = read_int(root, "decoder_start_token_id", cfg->pad_id, 0, cfg->vocab_size - 1, what,
                       &cfg->decoder_start_id)))
        return st;
    if ((long)cfg->num_heads * cfg->d_kv > big)
        return err_set(NT5_ERR_FORMAT, "%s: num_heads * d_kv is too large", what);

    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    cfg->eps = 1e-6f;
    if (eps && !cJSON_IsNull(eps)) {
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0) || eps->valuedouble > 1)
            return err_set(NT5_ERR_FORMAT, "%s: \"layer_norm_epsilon\" must be a number in (0, 1]", what);
        cfg->eps = (float)eps->valuedouble;
    }

    const cJSON *proj = cJSON_GetObjectItemCaseSensitive(root, "feed_forward_proj");
    if (proj && !cJSON_IsNull(proj) && !cJSON_IsString(proj))
        return err_set(NT5_ERR_FORMAT, "%s: \"feed_forward_proj\" must be a string", what);
    st = parse_ffn(cJSON_IsString(proj) ? proj->valuestring : model_types[k].ffn_default, what, cfg);
    if (st != NT5_OK) return st;

    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings");
    cfg->tie_word_embeddings = model_types[k].tie_default;
    if (tie && !cJSON_IsNull(tie)) {
        if (!cJSON_IsBool(tie)) return err_set(NT5_ERR_FORMAT, "%s: \"tie_word_embeddings\" must be a boolean", what);
        cfg->tie_word_embeddings = cJSON_IsTrue(tie);
    }
    return NT5_OK;
}

nt5_status config_from_inferred(cJSON *config, const char *override_path, const char *what, t5_config *cfg) {
    cJSON *given = NULL;
    nt5_status st = override_path ? json_read_file(override_path, &given) : NT5_OK;
    for (cJSON *item = given ? given->child : NULL; st == NT5_OK && item; item = item->next) {
        cJSON *copy = cJSON_Duplicate(item, 1);
        if (!copy || !(cJSON_GetObjectItemCaseSensitive(config, item->string)
                           ? cJSON_ReplaceItemInObjectCaseSensitive(config, item->string, copy)
                           : cJSON_AddItemToObject(config, item->string, copy))) {
            cJSON_Delete(copy);
            st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    cJSON_Delete(given);
    return st == NT5_OK ? config_from_json(config, what, cfg) : st;
}

cJSON *config_to_json(const t5_config *c) {
    cJSON *o = cJSON_CreateObject();
    char proj[48];
    /* "gated-gelu" means gelu_new in Hugging Face's configs */
    if (c->gated && c->act == ACT_GELU_TANH) snprintf(proj, sizeof proj, "gated-gelu");
    else snprintf(proj, sizeof proj, "%s%s", c->gated ? "gated-" : "", config_activation_name(c->act));
    const struct {
        const char *key;
        int value;
    } ints[] = {
        {"d_model", c->d_model},
        {"d_kv", c->d_kv},
        {"d_ff", c->d_ff},
        {"num_heads", c->num_heads},
        {"num_layers", c->num_layers},
        {"num_decoder_layers", c->num_decoder_layers},
        {"vocab_size", c->vocab_size},
        {"relative_attention_num_buckets", c->num_buckets},
        {"relative_attention_max_distance", c->max_distance},
        {"pad_token_id", c->pad_id},
        {"eos_token_id", c->eos_id},
        {"decoder_start_token_id", c->decoder_start_id},
    };
    int ok = o && cJSON_AddStringToObject(o, "model_type", config_model_type_name(c->model_type)) &&
             cJSON_AddStringToObject(o, "feed_forward_proj", proj) &&
             cJSON_AddNumberToObject(o, "layer_norm_epsilon", c->eps) &&
             cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tie_word_embeddings);
    for (size_t i = 0; ok && i < sizeof ints / sizeof ints[0]; i++)
        ok = cJSON_AddNumberToObject(o, ints[i].key, ints[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
