#include "format/gguf_names.h"

#include <stdio.h>
#include <string.h>

/* Within a block: (decoder?, layer, Hugging Face module) -> GGUF suffix. */
static const struct {
    int decoder, layer;
    const char *hf, *gguf;
} block_names[] = {
    {0, 0, "layer_norm", "attn_norm"},
    {0, 1, "layer_norm", "ffn_norm"},
    {0, 1, "DenseReluDense.wi_0", "ffn_gate"},
    {0, 1, "DenseReluDense.wi_1", "ffn_up"},
    {0, 1, "DenseReluDense.wi", "ffn_up"},
    {0, 1, "DenseReluDense.wo", "ffn_down"},
    {1, 0, "layer_norm", "attn_norm"},
    {1, 1, "layer_norm", "cross_attn_norm"},
    {1, 1, "EncDecAttention.q", "cross_attn_q"},
    {1, 1, "EncDecAttention.k", "cross_attn_k"},
    {1, 1, "EncDecAttention.v", "cross_attn_v"},
    {1, 1, "EncDecAttention.o", "cross_attn_o"},
    {1, 2, "layer_norm", "ffn_norm"},
    {1, 2, "DenseReluDense.wi_0", "ffn_gate"},
    {1, 2, "DenseReluDense.wi_1", "ffn_up"},
    {1, 2, "DenseReluDense.wi", "ffn_up"},
    {1, 2, "DenseReluDense.wo", "ffn_down"},
};

static const struct {
    const char *hf, *gguf;
} self_attention[] = {
    {"q", "attn_q"}, {"k", "attn_k"}, {"v", "attn_v"}, {"o", "attn_o"}, {"relative_attention_bias", "attn_rel_b"},
};

static const struct {
    const char *hf, *gguf;
} singles[] = {
    {"shared.weight", "token_embd.weight"},
    {"lm_head.weight", "output.weight"},
    {"encoder.final_layer_norm.weight", "enc.output_norm.weight"},
    {"decoder.final_layer_norm.weight", "dec.output_norm.weight"},
};

int gguf_name_of(const char *hf, char out[GGUF_NAME_MAX]) {
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++)
        if (strcmp(hf, singles[i].hf) == 0) return snprintf(out, GGUF_NAME_MAX, "%s", singles[i].gguf) > 0;
    char stack[8], module[64];
    int block, layer, end = 0;
    if (sscanf(hf, "%7[a-z].block.%d.layer.%d.%63[A-Za-z_0-9.]%n", stack, &block, &layer, module, &end) != 4 ||
        hf[end] || block < 0)
        return 0;
    size_t n = strlen(module);
    if (n < 8 || strcmp(module + n - 7, ".weight") != 0) return 0;
    module[n - 7] = '\0';
    int decoder = strcmp(stack, "decoder") == 0;
    if (!decoder && strcmp(stack, "encoder") != 0) return 0;
    const char *suffix = NULL;
    if (layer == 0 && strncmp(module, "SelfAttention.", 14) == 0) {
        for (size_t i = 0; i < sizeof self_attention / sizeof self_attention[0]; i++)
            if (strcmp(module + 14, self_attention[i].hf) == 0) suffix = self_attention[i].gguf;
    }
    for (size_t i = 0; !suffix && i < sizeof block_names / sizeof block_names[0]; i++)
        if (block_names[i].decoder == decoder && block_names[i].layer == layer &&
            strcmp(module, block_names[i].hf) == 0)
            suffix = block_names[i].gguf;
    return suffix && snprintf(out, GGUF_NAME_MAX, "%s.blk.%d.%s.weight", decoder ? "dec" : "enc", block, suffix) > 0;
}
