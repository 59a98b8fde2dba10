/* A checkpoint in one safetensors file without config.json (ComfyUI and
 * Forge single files: t5xxl_fp16, t5xxl_fp8_e4m3fn(_scaled), umt5_xxl_...,
 * all-in-one checkpoints): its config from the tensors (config_infer.h) and
 * the tokenizer some carry inside, the raw sentencepiece model as a U8
 * tensor "spiece_model". */
#ifndef NT5_IMPL_SINGLE_FILE_H
#define NT5_IMPL_SINGLE_FILE_H

#include "format/checkpoint.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

/* The config (with the keys of the config.json at config_path, when not
 * NULL, over the inferred ones), and the embedded tokenizer
 * (tok_open_spiece) or NULL. `what` names the file in errors. */
nt5_status single_file_read_header(const checkpoint *ck, const char *what, const char *config_path, t5_config *cfg,
                                   tokenizer **tok);

#endif
