/* A sentencepiece model (the ModelProto that spiece.model holds) made from
 * its parts, as GGUF files keep a T5 tokenizer: pieces with scores and
 * types, the normalizer's precompiled character map and flags, the special
 * ids. Only the fields a unigram model's encoding reads are written (field
 * numbers of sentencepiece_model.proto):
 *   ModelProto:     1 pieces (repeated), 2 trainer_spec, 3 normalizer_spec
 *   SentencePiece:  1 piece, 2 score (float), 3 type (omitted for NORMAL)
 *   TrainerSpec:    3 model_type (UNIGRAM = 1), 4 vocab_size, 40 unk_id,
 *                   41 bos_id, 42 eos_id, 43 pad_id
 *   NormalizerSpec: 1 name, 2 precompiled_charsmap, 3 add_dummy_prefix,
 *                   4 remove_extra_whitespaces, 5 escape_whitespaces */
#ifndef NT5_IMPL_SPIECE_WRITE_H
#define NT5_IMPL_SPIECE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

/* sentencepiece's piece types (GGUF's token types use the same numbers) */
enum {
    SPIECE_NORMAL = 1,
    SPIECE_UNKNOWN = 2,
    SPIECE_CONTROL = 3,
    SPIECE_USER_DEFINED = 4,
    SPIECE_UNUSED = 5,
    SPIECE_BYTE = 6
};

typedef struct spiece_piece {
    const char *text; /* len bytes, not NUL-terminated */
    size_t len;
    float score;
    int32_t type; /* SPIECE_* */
} spiece_piece;

typedef struct spiece_parts {
    const spiece_piece *pieces;
    size_t count;
    const uint8_t *charsmap; /* the normalizer's precompiled_charsmap; NULL/0: none (identity) */
    size_t charsmap_len;
    int add_dummy_prefix, remove_extra_whitespaces;
    int32_t unk_id, bos_id, eos_id, pad_id; /* -1: none */
} spiece_parts;

/* The serialized model (malloc'ed) into *out[*len]. */
nt5_status spiece_write(const spiece_parts *parts, uint8_t **out, size_t *len);

#endif
