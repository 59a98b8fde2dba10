/* Public entry points: models (options, open, information, save, free). */
#define NT5_EXPERIMENTAL
#include "nt5_experimental.h"

#include <stddef.h>
#include <string.h>

#include "api/api_convert.h"
#include "api/api_hub.h"
#include "api/api_options.h"
#include "base/error.h"
#include "base/options.h"
#include "forward/working_memory.h"
#include "hub/hub_ref.h"
#include "model/hf_layout_write.h"
#include "model/model.h"
#include "model/nt5_file_write.h"

static nt5_status check_open_args(const void *first, const char *first_name, const nt5_model_options *opts,
                                  nt5_model **out, nt5_model_options *o) {
    if (out) *out = NULL;
    if (!first) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", first_name);
    if (!out) return err_set(NT5_ERR_INVALID_ARG, "out is NULL");
    return api_model_options(opts, o);
}

nt5_status nt5_model_open(const char *path, const nt5_model_options *opts, nt5_model **out) {
    nt5_model_options o;
    nt5_status st = check_open_args(path, "path", opts, out, &o);
    if (st != NT5_OK) return st;
    if (!path[0]) return err_set(NT5_ERR_INVALID_ARG, "path is empty");
    char tokenizer_dir[4096];
    if ((st = api_tokenizer_option(&o, tokenizer_dir, sizeof tokenizer_dir)) != NT5_OK) return st;
    if (!hub_looks_like_ref(path)) st = model_open_path(path, &o, NULL, out);
    else if (o.weight_dtype == NT5_DTYPE_F16) st = api_open_id_f16(path, &o, out);
    else st = api_open_id(path, &o, NULL, out);
    if (st == NT5_OK) working_memory_reserve(*out);
    return st;
}

nt5_status nt5_model_save_hf(const nt5_model *model, const char *dir) {
    if (!model || !dir || !dir[0]) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL or empty", model ? "dir" : "model");
    return hf_layout_save(model, dir, NULL, NULL);
}

nt5_status nt5_model_save(const nt5_model *model, const char *path) {
    if (!model || !path || !path[0])
        return err_set(NT5_ERR_INVALID_ARG, "%s is NULL or empty", model ? "path" : "model");
    return nt5file_save(model, path);
}

nt5_status nt5_model_open_random(const char *config_json, uint64_t seed, const nt5_model_options *opts,
                                 nt5_model **out) {
    nt5_model_options o;
    nt5_status st = check_open_args(config_json, "config_json", opts, out, &o);
    if (st == NT5_OK) st = model_open_random(config_json, seed, &o, out);
    if (st == NT5_OK) working_memory_reserve(*out);
    return st;
}

void nt5_model_free(nt5_model *model) { model_free(model); }

nt5_status nt5_model_get_info(const nt5_model *model, nt5_model_info *info) {
    if (!model || !info) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", model ? "info" : "model");
    const size_t minimum = offsetof(nt5_model_info, model_type) + sizeof(int32_t);
    nt5_status st = opts_check_size(info->struct_size, minimum, sizeof *info, "nt5_model_info");
    if (st != NT5_OK) return st;
    const t5_config *c = &model->cfg;
    nt5_model_info full = {
        .struct_size = info->struct_size,
        .model_type = c->model_type,
        .d_model = c->d_model,
        .d_kv = c->d_kv,
        .d_ff = c->d_ff,
        .num_heads = c->num_heads,
        .num_layers = c->num_layers,
        .num_decoder_layers = model->has_decoder ? c->num_decoder_layers : 0,
        .vocab_size = c->vocab_size,
        .tokenizer_size = model->tok ? tok_size(model->tok) : 0,
        .relative_attention_num_buckets = c->num_buckets,
        .relative_attention_max_distance = c->max_distance,
        .is_gated_act = c->gated,
        .tie_word_embeddings = c->tie_word_embeddings,
        .pad_token_id = c->pad_id,
        .eos_token_id = c->eos_id,
        .decoder_start_token_id = c->decoder_start_id,
        .max_input_length = model->max_input_length,
        .has_decoder = model->has_decoder,
        .device = model->be->ops->device,
        .compute_dtype = model->be->ops->computes_in_weight_dtype ? model->w.shared.dtype : NT5_DTYPE_F32,
        .weight_dtype = model->w.matrix_dtype,
        .num_threads = model->be->ops->threads(model->be),
        .model_type_name = config_model_type_name(c->model_type),
        .activation_name = config_activation_name(c->act),
        .non_finite_weights = (int64_t)model->w.non_finite,
        .first_non_finite_weight = model->w.non_finite ? model->w.first_non_finite : NULL,
        .format = model->format,
        .weights_stored = model->stored,
        .tokenizer_source = model->tok && model->tokenizer_from[0] ? model->tokenizer_from : NULL,
    };
    memcpy(info, &full, info->struct_size);
    return NT5_OK;
}
