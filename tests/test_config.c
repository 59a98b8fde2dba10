/* config.json parsing: defaults of each model type (v1.0 configs without
 * feed_forward_proj, mT5's untied embeddings), activations, and the round
 * trip through config_to_json that nt5 files rely on. */
#include <string.h>

#include "model/config.h"
#include "harness.h"

static t5_config parse(const char *text, nt5_status want) {
    t5_config c;
    memset(&c, 0, sizeof c);
    cJSON *root = cJSON_Parse(text);
    CHECK_STATUS(config_from_json(root, "test config", &c), want);
    cJSON_Delete(root);
    return c;
}

int main(void) {
    const char *base =
        "\"d_model\": 512, \"d_kv\": 64, \"d_ff\": 2048, \"num_heads\": 8, \"num_layers\": 6, "
        "\"vocab_size\": 32128";
    char text[512];
    snprintf(text, sizeof text, "{\"model_type\": \"t5\", %s}", base); /* t5-small's v1.0 config has no proj */
    t5_config c = parse(text, NT5_OK);
    CHECK(c.model_type == NT5_MODEL_T5 && !c.gated && c.act == ACT_RELU && c.tie_word_embeddings == 1 &&
              c.num_decoder_layers == 6 && c.num_buckets == 32 && c.max_distance == 128 && c.eps == 1e-6f &&
              c.pad_id == 0 && c.eos_id == 1 && c.decoder_start_id == 0 && !c.bias_every_layer,
          "v1.0 defaults");
    snprintf(text, sizeof text, "{\"model_type\": \"mt5\", %s}", base);
    c = parse(text, NT5_OK);
    CHECK(c.gated && c.act == ACT_GELU_TANH && c.tie_word_embeddings == 0, "mt5 defaults");
    snprintf(text, sizeof text, "{\"model_type\": \"umt5\", \"num_decoder_layers\": 3, %s}", base);
    c = parse(text, NT5_OK);
    CHECK(c.gated && c.bias_every_layer && c.num_decoder_layers == 3, "umt5 defaults");
    static const struct {
        const char *proj;
        int gated;
        activation act;
    } projs[] = {{"gated-gelu", 1, ACT_GELU_TANH},
                 {"gated-silu", 1, ACT_SILU},
                 {"gelu", 0, ACT_GELU},
                 {"gated-gelu_pytorch_tanh", 1, ACT_GELU_TANH},
                 {"relu", 0, ACT_RELU}};
    for (size_t i = 0; i < sizeof projs / sizeof projs[0]; i++) {
        snprintf(text, sizeof text, "{\"model_type\": \"t5\", \"feed_forward_proj\": \"%s\", %s}", projs[i].proj, base);
        c = parse(text, NT5_OK);
        CHECK(c.gated == projs[i].gated && c.act == projs[i].act, "feed_forward_proj %s", projs[i].proj);
        cJSON *back = config_to_json(&c);
        t5_config again;
        CHECK_STATUS(config_from_json(back, "round trip", &again), NT5_OK);
        CHECK(memcmp(&again, &c, sizeof c) == 0, "config round trip of %s", projs[i].proj);
        cJSON_Delete(back);
    }
    snprintf(text, sizeof text, "{\"model_type\": \"t5\", \"feed_forward_proj\": \"gated-relu-x\", %s}", base);
    parse(text, NT5_ERR_FORMAT);
    snprintf(text, sizeof text, "{\"model_type\": \"t5\", \"tie_word_embeddings\": 3, %s}", base);
    parse(text, NT5_ERR_FORMAT);
    snprintf(text, sizeof text, "{\"model_type\": \"t5\", \"pad_token_id\": 40000, %s}", base);
    parse(text, NT5_ERR_FORMAT);
    snprintf(text, sizeof text,
             "{\"model_type\": \"t5\", \"d_model\": 1.5, \"d_kv\": 64, \"d_ff\": 1, "
             "\"num_heads\": 1, \"num_layers\": 1, \"vocab_size\": 10}");
    parse(text, NT5_ERR_FORMAT);
    return harness_finish("config");
}
