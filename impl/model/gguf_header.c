#include "model/gguf_header.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/spiece_write.h"

#define MAX_LENGTH 512

/* An integer "<arch>.<key>" into *out; an error naming it when it is missing. */
static nt5_status arch_u32(const gguf_file *f, const char *what, const char *arch, const char *key, uint32_t *out) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    if (gguf_get_u32(f, full, out)) return NT5_OK;
    return err_set(NT5_ERR_FORMAT, "%s: metadata %s is missing or not an unsigned integer", what, full);
}

static int count_blocks(const gguf_file *f, const char *fmt) {
    int n = 0;
    for (char name[64];; n++) {
        snprintf(name, sizeof name, fmt, n);
        if (!gguf_find_tensor(f, name)) return n;
    }
}

static nt5_status config_of(const gguf_file *f, const char *what, cJSON *c) {
    gguf_str arch_str;
    char arch[16];
    if (!gguf_get_string(f, "general.architecture", &arch_str) ||
        !(gguf_str_is(arch_str, "t5") || gguf_str_is(arch_str, "t5encoder")))
        return err_set(NT5_ERR_UNSUPPORTED, "%s: general.architecture is \"%.*s\", not t5 or t5encoder", what,
                       (int)(arch_str.len < 64 ? arch_str.len : 64), arch_str.ptr ? arch_str.ptr : "");
    snprintf(arch, sizeof arch, "%.*s", (int)arch_str.len, arch_str.ptr);
    uint32_t d_model, d_ff, layers, heads, d_kv, buckets = 32, start = 0, eos = 1, pad = 0;
    nt5_status st;
    if ((st = arch_u32(f, what, arch, "embedding_length", &d_model)) ||
        (st = arch_u32(f, what, arch, "feed_forward_length", &d_ff)) ||
        (st = arch_u32(f, what, arch, "block_count", &layers)) ||
        (st = arch_u32(f, what, arch, "attention.head_count", &heads)) ||
        (st = arch_u32(f, what, arch, "attention.key_length", &d_kv)))
        return st;
    char key[128];
    snprintf(key, sizeof key, "%s.attention.relative_buckets_count", arch);
    gguf_get_u32(f, key, &buckets);
    snprintf(key, sizeof key, "%s.decoder_start_token_id", arch);
    gguf_get_u32(f, key, &start);
    gguf_get_u32(f, "tokenizer.ggml.eos_token_id", &eos);
    gguf_get_u32(f, "tokenizer.ggml.padding_token_id", &pad);
    float eps = 1e-6f;
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    gguf_get_f32(f, key, &eps);
    const gguf_tensor *embedding = gguf_find_tensor(f, "token_embd.weight");
    if (!embedding || embedding->n_dims != 2)
        return err_set(NT5_ERR_FORMAT, "%s: the embedding token_embd.weight is missing or not 2-D", what);
    int gated = gguf_find_tensor(f, "enc.blk.0.ffn_gate.weight") != NULL;
    int decoder_layers = count_blocks(f, "dec.blk.%d.attn_q.weight");
    int every_layer_bias = layers > 1 && gguf_find_tensor(f, "enc.blk.1.attn_rel_b.weight");
    int tied = decoder_layers > 0 ? !gguf_find_tensor(f, "output.weight") : !gated;
    int ok = cJSON_AddStringToObject(c, "model_type", every_layer_bias ? "umt5" : "t5") &&
             cJSON_AddNumberToObject(c, "vocab_size", (double)embedding->ne[1]) &&
             cJSON_AddNumberToObject(c, "d_model", d_model) && cJSON_AddNumberToObject(c, "d_kv", d_kv) &&
             cJSON_AddNumberToObject(c, "d_ff", d_ff) && cJSON_AddNumberToObject(c, "num_heads", heads) &&
             cJSON_AddNumberToObject(c, "num_layers", layers) &&
             cJSON_AddNumberToObject(c, "num_decoder_layers", decoder_layers) &&
             cJSON_AddNumberToObject(c, "relative_attention_num_buckets", buckets) &&
             cJSON_AddNumberToObject(c, "layer_norm_epsilon", eps) &&
             cJSON_AddNumberToObject(c, "decoder_start_token_id", start) &&
             cJSON_AddNumberToObject(c, "eos_token_id", eos) && cJSON_AddNumberToObject(c, "pad_token_id", pad) &&
             cJSON_AddStringToObject(c, "feed_forward_proj", gated ? "gated-gelu" : "relu") &&
             cJSON_AddBoolToObject(c, "tie_word_embeddings", tied);
    return ok ? NT5_OK : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
}

/* "[PAD<n>]": the rows llama.cpp's converter adds past the real vocabulary */
static int is_filler(gguf_str s) {
    char text[32];
    if (s.len < 6 || s.len >= sizeof text) return 0;
    memcpy(text, s.ptr, s.len);
    text[s.len] = '\0';
    int end = 0;
    unsigned n;
    return sscanf(text, "[PAD%u]%n", &n, &end) == 1 && (size_t)end == s.len;
}

static int is_extra_id(gguf_str s) { return s.len > 10 && memcmp(s.ptr, "<extra_id_", 10) == 0; }

/* The sentencepiece model of tokens[0, count) and the number of <extra_id_N>. */
static nt5_status rebuild(const gguf_file *f, const char *what, const gguf_value *tokens, uint64_t count,
                          uint8_t **model, size_t *model_len, int *extra_ids) {
    uint64_t n_scores = 0, n_types = 0, n_map = 0;
    uint32_t map_type = 0;
    const gguf_value *scores = gguf_get_array(f, "tokenizer.ggml.scores", NULL, &n_scores);
    const gguf_value *types = gguf_get_array(f, "tokenizer.ggml.token_type", NULL, &n_types);
    const gguf_value *map = gguf_get_array(f, "tokenizer.ggml.precompiled_charsmap", &map_type, &n_map);
    if (!scores || !types || n_scores != count || n_types != count)
        return err_set(NT5_ERR_FORMAT, "%s: the tokenizer has %llu tokens but %llu scores and %llu token types", what,
                       (unsigned long long)count, (unsigned long long)n_scores, (unsigned long long)n_types);
    if (map && map_type != GGUF_TYPE_UINT8 && map_type != GGUF_TYPE_INT8)
        return err_set(NT5_ERR_FORMAT, "%s: tokenizer.ggml.precompiled_charsmap is not an array of bytes", what);
    spiece_piece *pieces = malloc((size_t)count * sizeof *pieces + 1);
    if (!pieces) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    spiece_parts parts = {.pieces = pieces,
                          .charsmap = map ? map->data : NULL,
                          .charsmap_len = (size_t)n_map,
                          .add_dummy_prefix = 1,
                          .remove_extra_whitespaces = 1,
                          .unk_id = -1,
                          .bos_id = -1};
    gguf_get_bool(f, "tokenizer.ggml.add_space_prefix", &parts.add_dummy_prefix);
    gguf_get_bool(f, "tokenizer.ggml.remove_extra_whitespaces", &parts.remove_extra_whitespaces);
    uint32_t eos = 1, pad = 0;
    gguf_get_u32(f, "tokenizer.ggml.eos_token_id", &eos);
    gguf_get_u32(f, "tokenizer.ggml.padding_token_id", &pad);
    nt5_status st = NT5_OK;
    int user_defined = 0;
    *extra_ids = 0;
    for (uint64_t i = 0; i < count && st == NT5_OK; i++) {
        gguf_str text;
        double score;
        int64_t type;
        if (!gguf_value_string(tokens, i, &text) || !gguf_value_f64(scores, i, &score) ||
            !gguf_value_i64(types, i, &type)) {
            st = err_set(NT5_ERR_FORMAT, "%s: tokenizer entry %llu is not a string, a float and an integer", what,
                         (unsigned long long)i);
            break;
        }
        /* sentencepiece's pieces come first; then the added <extra_id_N>, then filler */
        user_defined |= type == SPIECE_USER_DEFINED || is_filler(text);
        if (user_defined) {
            *extra_ids += type == SPIECE_USER_DEFINED && is_extra_id(text);
            continue;
        }
        if (type < SPIECE_NORMAL || type > SPIECE_BYTE)
            st = err_set(NT5_ERR_FORMAT, "%s: token %llu has type %lld", what, (unsigned long long)i, (long long)type);
        else if (memchr(text.ptr, '\0', text.len)) /* sentencepiece's trie cannot hold it */
            st = err_set(NT5_ERR_FORMAT, "%s: token %llu holds a NUL byte", what, (unsigned long long)i);
        pieces[parts.count++] = (spiece_piece){text.ptr, text.len, (float)score, (int32_t)type};
        if (type == SPIECE_UNKNOWN && parts.unk_id < 0) parts.unk_id = (int32_t)i;
    }
    parts.eos_id = eos < parts.count ? (int32_t)eos : -1;
    parts.pad_id = pad < parts.count ? (int32_t)pad : -1;
    if (st == NT5_OK) st = spiece_write(&parts, model, model_len);
    free(pieces);
    return st;
}

static nt5_status tokenizer_of(const gguf_file *f, const char *what, tokenizer **tok) {
    gguf_str kind;
    uint32_t elem = 0;
    uint64_t count = 0;
    const gguf_value *tokens = gguf_get_array(f, "tokenizer.ggml.tokens", &elem, &count);
    if (!tokens) return NT5_OK; /* no tokenizer: the model takes ids */
    if (!gguf_get_string(f, "tokenizer.ggml.model", &kind) || !gguf_str_is(kind, "t5"))
        return err_set(NT5_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model is not \"t5\" (sentencepiece unigram)", what);
    if (elem != GGUF_TYPE_STRING)
        return err_set(NT5_ERR_FORMAT, "%s: tokenizer.ggml.tokens is not an array of strings", what);
    uint8_t *model = NULL;
    size_t len = 0;
    int extra_ids = 0;
    nt5_status st = rebuild(f, what, tokens, count, &model, &len, &extra_ids);
    if (st == NT5_OK) st = tok_open_bytes(model, len, extra_ids, MAX_LENGTH, what, tok);
    free(model);
    return st;
}

nt5_status gguf_read_header(const gguf_file *f, const char *what, const char *config_path, t5_config *cfg,
                            tokenizer **tok) {
    *tok = NULL;
    cJSON *c = cJSON_CreateObject();
    nt5_status st = c ? config_of(f, what, c) : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NT5_OK) st = config_from_inferred(c, config_path, what, cfg);
    cJSON_Delete(c);
    if (st == NT5_OK) st = tokenizer_of(f, what, tok);
    return st;
}
