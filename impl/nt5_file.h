/* nt5's own model file: one safetensors container with the weights in nt5's
 * fused layout under nt5 names (weight_names.h), the normalised config and
 * the tokenizer, so that nt5_model_open() needs nothing else. Its
 * __metadata__ holds: format "nt5", nt5_format "1" (this file's version,
 * separate from the ABI's), config (config.json text), weight_dtype,
 * has_decoder, tokenizer_extra_ids, model_max_length and, for models from
 * the Hub, source ("org/name@commit"); the tokenizer's
 * sentencepiece model is the U8 tensor "tokenizer.spiece". */
#ifndef NT5_IMPL_NT5_FILE_H
#define NT5_IMPL_NT5_FILE_H

#include "model.h"
#include "safetensors.h"

#define NT5_FILE_FORMAT_VERSION "1"

/* Writes the model to `path` through a temporary file and a rename. */
nt5_status nt5file_save(const nt5_model *m, const char *path);
/* Reads the config and tokenizer of an opened nt5 file into m (weights are
 * read through nt5_file_source). */
nt5_status nt5file_read_header(const st_file *f, nt5_model *m);

#endif
