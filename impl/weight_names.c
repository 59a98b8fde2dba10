#include "weight_names.h"

#include <stdio.h>
#include <string.h>

typedef struct field_map {
    const char *field;
    const char *prefix; /* printf format with the block index */
    const char *parts[HF_PARTS_MAX];
} field_map;

#define SA_ENC "encoder.block.%d.layer.0.SelfAttention."
#define SA_DEC "decoder.block.%d.layer.0.SelfAttention."
#define CA_DEC "decoder.block.%d.layer.1.EncDecAttention."

static const field_map enc_fields[] = {
    {"ln_attn", "encoder.block.%d.layer.0.", {"layer_norm"}},
    {"qkv", SA_ENC, {"q", "k", "v"}},
    {"o", SA_ENC, {"o"}},
    {"bias", SA_ENC, {"relative_attention_bias"}},
    {"ln_ff", "encoder.block.%d.layer.1.", {"layer_norm"}},
    {"wi", "encoder.block.%d.layer.1.DenseReluDense.", {"wi"}},
    {"wo", "encoder.block.%d.layer.1.DenseReluDense.", {"wo"}},
};

static const field_map dec_fields[] = {
    {"ln_self", "decoder.block.%d.layer.0.", {"layer_norm"}},
    {"qkv", SA_DEC, {"q", "k", "v"}},
    {"o", SA_DEC, {"o"}},
    {"bias", SA_DEC, {"relative_attention_bias"}},
    {"ln_cross", "decoder.block.%d.layer.1.", {"layer_norm"}},
    {"cross_q", CA_DEC, {"q"}},
    {"cross_kv", CA_DEC, {"k", "v"}},
    {"cross_o", CA_DEC, {"o"}},
    {"ln_ff", "decoder.block.%d.layer.2.", {"layer_norm"}},
    {"wi", "decoder.block.%d.layer.2.DenseReluDense.", {"wi"}},
    {"wo", "decoder.block.%d.layer.2.DenseReluDense.", {"wo"}},
};

static const struct {
    const char *nt5, *hf;
} singles[] = {
    {"shared", "shared.weight"},
    {"lm_head", "lm_head.weight"},
    {"enc.final_ln", "encoder.final_layer_norm.weight"},
    {"dec.final_ln", "decoder.final_layer_norm.weight"},
};

int hf_parts(const t5_config *c, const char *nt5_name, char parts[HF_PARTS_MAX][HF_NAME_MAX]) {
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) {
        if (strcmp(nt5_name, singles[i].nt5) == 0) {
            snprintf(parts[0], HF_NAME_MAX, "%s", singles[i].hf);
            return 1;
        }
    }
    char stack[4], field[32];
    int block, end = 0;
    if (sscanf(nt5_name, "%3[a-z].%d.%31[a-z_]%n", stack, &block, field, &end) != 3 || nt5_name[end] || block < 0)
        return 0;
    const field_map *map = strcmp(stack, "enc") == 0 ? enc_fields : strcmp(stack, "dec") == 0 ? dec_fields : NULL;
    size_t n = map == enc_fields ? sizeof enc_fields / sizeof enc_fields[0] : sizeof dec_fields / sizeof dec_fields[0];
    for (size_t i = 0; map && i < n; i++) {
        if (strcmp(map[i].field, field) != 0) continue;
        static const char *const gated[] = {"wi_0", "wi_1"};
        int fused_ffn = strcmp(field, "wi") == 0 && c->gated;
        int count = 0;
        for (int p = 0; p < (fused_ffn ? 2 : HF_PARTS_MAX) && (fused_ffn || map[i].parts[p]); p++) {
            char prefix[96];
            snprintf(prefix, sizeof prefix, map[i].prefix, block);
            snprintf(parts[count++], HF_NAME_MAX, "%s%s.weight", prefix, fused_ffn ? gated[p] : map[i].parts[p]);
        }
        return count;
    }
    return 0;
}
