/* T5's tokenizer: sentencepiece plus the rules of Hugging Face's
 * T5Tokenizer in legacy mode (special tokens, </s>, <extra_id_N>, decoding
 * and clean-up). */
#ifndef NT5_IMPL_TOKENIZER_H
#define NT5_IMPL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

typedef struct tokenizer tokenizer;

/* Loads dir/spiece.model and, when present, dir/tokenizer_config.json
 * (extra_ids, model_max_length). NT5_ERR_NOT_FOUND if there is no
 * spiece.model. */
nt5_status tok_open(const char *dir, tokenizer **out);
/* From a serialized sentencepiece model (an nt5 file carries one). */
nt5_status tok_open_bytes(const void *spiece, size_t len, int extra_ids, int max_length, const char *what,
                          tokenizer **out);
/* A bare sentencepiece model (no tokenizer_config.json: inside a checkpoint
 * file, or a spiece.model given alone): max length 512, and T5's 100
 * <extra_id_N> tokens when the model's vocab_size has room for them past
 * the pieces. */
nt5_status tok_open_spiece(const void *spiece, size_t len, int vocab_size, const char *what, tokenizer **out);
/* A directory as tok_open reads it, or a spiece.model file as tok_open_spiece. */
nt5_status tok_open_path(const char *path, int vocab_size, tokenizer **out);
void tok_free(tokenizer *t);
/* The serialized sentencepiece model, to store it elsewhere. */
const void *tok_spiece_bytes(const tokenizer *t, size_t *len);
int tok_extra_ids(const tokenizer *t);
/* Number of valid ids: sentencepiece pieces + extra ids. */
int tok_size(const tokenizer *t);
/* model_max_length of tokenizer_config.json (512 when absent). */
int tok_max_length(const tokenizer *t);
int tok_is_special(const tokenizer *t, int32_t id);

/* text (NUL-terminated UTF-8) -> malloc'ed ids; </s> appended if add_eos. */
nt5_status tok_encode(const tokenizer *t, const char *text, int add_eos, int32_t **ids, size_t *n_ids);
/* ids -> malloc'ed text; flags NT5_DETOKENIZE_*. Ids in [tok_size, vocab_size)
 * decode to nothing; others out of range are an error. */
nt5_status tok_decode(const tokenizer *t, const int32_t *ids, size_t n_ids, int32_t flags, int32_t vocab_size,
                      char **text, size_t *len);

#endif
