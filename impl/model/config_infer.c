#include "model/config_infer.h"

#include <stdio.h>

#include "base/error.h"
#include "format/weight_names.h"

/* A 2-D tensor's shape [rows, cols]; an error naming it when it is missing or not 2-D. */
static nt5_status shape_of(const checkpoint *ck, const char *what, const char *name, int64_t *rows, int64_t *cols) {
    const st_tensor *t = ckpt_find(ck, name);
    if (!t)
        return err_set(NT5_ERR_FORMAT,
                       "%s: no config.json, and the tensor %s%s that tells the model's shape is missing", what,
                       ck->prefix, name);
    if (t->ndim != 2) return err_set(NT5_ERR_FORMAT, "%s: tensor %s%s is not 2-D", what, ck->prefix, name);
    *rows = t->shape[0];
    *cols = t->shape[1];
    return NT5_OK;
}

/* How many consecutive blocks of a stack (`fmt` with the block number) the checkpoint has. */
static int count_blocks(const checkpoint *ck, const char *fmt) {
    int n = 0;
    for (char name[HF_NAME_MAX];; n++) {
        snprintf(name, sizeof name, fmt, n);
        if (!ckpt_find(ck, name)) return n;
    }
}

static const st_tensor *block_tensor(const checkpoint *ck, const char *fmt, int block) {
    char name[HF_NAME_MAX];
    snprintf(name, sizeof name, fmt, block);
    return ckpt_find(ck, name);
}

nt5_status config_infer(const checkpoint *ck, const char *what, cJSON **config) {
    *config = NULL;
    static const char bias[] = "encoder.block.%d.layer.0.SelfAttention.relative_attention_bias.weight";
    const char *embedding = ckpt_find(ck, "shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
    int64_t vocab = 0, d_model = 0, buckets = 0, heads = 0, inner = 0, d = 0, d_ff = 0, d_in = 0;
    nt5_status st;
    if ((st = shape_of(ck, what, embedding, &vocab, &d_model)) ||
        (st = shape_of(ck, what, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", &buckets,
                       &heads)) ||
        (st = shape_of(ck, what, "encoder.block.0.layer.0.SelfAttention.q.weight", &inner, &d)))
        return st;
    int gated = ckpt_find(ck, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight") != NULL;
    if ((st = shape_of(ck, what,
                       gated ? "encoder.block.0.layer.1.DenseReluDense.wi_0.weight"
                             : "encoder.block.0.layer.1.DenseReluDense.wi.weight",
                       &d_ff, &d_in)))
        return st;
    if (heads <= 0 || inner % heads != 0 || d != d_model || d_in != d_model)
        return err_set(NT5_ERR_FORMAT,
                       "%s: the tensors do not make a T5 (embedding [%lld, %lld], q [%lld, %lld], %lld heads)", what,
                       (long long)vocab, (long long)d_model, (long long)inner, (long long)d, (long long)heads);
    int layers = count_blocks(ck, "encoder.block.%d.layer.0.SelfAttention.q.weight");
    int decoder_layers = count_blocks(ck, "decoder.block.%d.layer.0.SelfAttention.q.weight");
    int every_layer_bias = layers > 1 && block_tensor(ck, bias, 1) != NULL;
    int tied = decoder_layers > 0 ? !ckpt_find(ck, "lm_head.weight") : !gated;
    cJSON *c = cJSON_CreateObject();
    int ok = c && cJSON_AddStringToObject(c, "model_type", every_layer_bias ? "umt5" : "t5") &&
             cJSON_AddNumberToObject(c, "vocab_size", (double)vocab) &&
             cJSON_AddNumberToObject(c, "d_model", (double)d_model) &&
             cJSON_AddNumberToObject(c, "d_kv", (double)(inner / heads)) &&
             cJSON_AddNumberToObject(c, "d_ff", (double)d_ff) &&
             cJSON_AddNumberToObject(c, "num_heads", (double)heads) &&
             cJSON_AddNumberToObject(c, "num_layers", layers) &&
             cJSON_AddNumberToObject(c, "num_decoder_layers", decoder_layers) &&
             cJSON_AddNumberToObject(c, "relative_attention_num_buckets", (double)buckets) &&
             cJSON_AddStringToObject(c, "feed_forward_proj", gated ? "gated-gelu" : "relu") &&
             cJSON_AddBoolToObject(c, "tie_word_embeddings", tied);
    if (!ok) {
        cJSON_Delete(c);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    *config = c;
    return NT5_OK;
}
