/* A GGUF file's config and tokenizer (llama.cpp's T5 and T5ENCODER
 * architectures): hyper-parameters from "<arch>.*" keys, the rest from the
 * tensors (vocabulary, gated FFN, UMT5's bias table in every block, decoder
 * blocks, tied head) and the T5 family's defaults (max distance 128, which
 * GGUF does not store); the tokenizer rebuilt as the sentencepiece model it
 * came from (tokenizer/spiece_write.h) with its <extra_id_N> tokens. */
#ifndef NT5_IMPL_GGUF_HEADER_H
#define NT5_IMPL_GGUF_HEADER_H

#include "format/gguf.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

/* The config (with the keys of the config.json at config_path, when not
 * NULL, over the file's), and the tokenizer or NULL when the file has none.
 * `what` names the file in errors. */
nt5_status gguf_read_header(const gguf_file *f, const char *what, const char *config_path, t5_config *cfg,
                            tokenizer **tok);

#endif
