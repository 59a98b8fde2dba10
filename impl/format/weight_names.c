#include "format/weight_names.h"

#include <stdio.h>
#include <string.h>

/* nt5 field -> "<stack>.block.<i>.layer.<layer>.<module><part>.weight" */
typedef struct field_map {
    const char *field;
    int layer;
    const char *module;
    const char *parts[HF_PARTS_MAX];
} field_map;

static const field_map enc_fields[] = {
    {"ln_attn", 0, "", {"layer_norm"}},   {"qkv", 0, "SelfAttention.", {"q", "k", "v"}},
    {"o", 0, "SelfAttention.", {"o"}},    {"bias", 0, "SelfAttention.", {"relative_attention_bias"}},
    {"ln_ff", 1, "", {"layer_norm"}},     {"wi", 1, "DenseReluDense.", {"wi"}},
    {"wo", 1, "DenseReluDense.", {"wo"}},
};

static const field_map dec_fields[] = {
    {"ln_self", 0, "", {"layer_norm"}},
    {"qkv", 0, "SelfAttention.", {"q", "k", "v"}},
    {"o", 0, "SelfAttention.", {"o"}},
    {"bias", 0, "SelfAttention.", {"relative_attention_bias"}},
    {"ln_cross", 1, "", {"layer_norm"}},
    {"cross_q", 1, "EncDecAttention.", {"q"}},
    {"cross_kv", 1, "EncDecAttention.", {"k", "v"}},
    {"cross_o", 1, "EncDecAttention.", {"o"}},
    {"ln_ff", 2, "", {"layer_norm"}},
    {"wi", 2, "DenseReluDense.", {"wi"}},
    {"wo", 2, "DenseReluDense.", {"wo"}},
};

static const struct {
    const char *nt5, *hf;
} singles[] = {
    {"shared", "shared.weight"},
    {"lm_head", "lm_head.weight"},
    {"enc.final_ln", "encoder.final_layer_norm.weight"},
    {"dec.final_ln", "decoder.final_layer_norm.weight"},
};

int hf_parts(int gated_ffn, const char *nt5_name, char parts[HF_PARTS_MAX][HF_NAME_MAX]) {
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
    const field_map *map;
    size_t n;
    const char *stack_name;
    if (strcmp(stack, "enc") == 0) {
        map = enc_fields;
        n = sizeof enc_fields / sizeof enc_fields[0];
        stack_name = "encoder";
    } else if (strcmp(stack, "dec") == 0) {
        map = dec_fields;
        n = sizeof dec_fields / sizeof dec_fields[0];
        stack_name = "decoder";
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(map[i].field, field) != 0) continue;
        static const char *const gated[] = {"wi_0", "wi_1"};
        int fused_ffn = strcmp(field, "wi") == 0 && gated_ffn;
        int count = 0;
        for (int p = 0; p < (fused_ffn ? 2 : HF_PARTS_MAX) && (fused_ffn || map[i].parts[p]); p++)
            snprintf(parts[count++], HF_NAME_MAX, "%s.block.%d.layer.%d.%s%s.weight", stack_name, block, map[i].layer,
                     map[i].module, fused_ffn ? gated[p] : map[i].parts[p]);
        return count;
    }
    return 0;
}

int hf_name_needed_by_encoder(const char *name) {
    return strncmp(name, "decoder.", 8) != 0 && strncmp(name, "lm_head.", 8) != 0;
}
