/* A C face for the sentencepiece C++ library (the project's only C++). */
#ifndef NT5_IMPL_SPM_SHIM_H
#define NT5_IMPL_SPM_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_model spm_model;

/* Return values: 0 ok, -1 invalid input or model file, -2 out of memory. */
/* Loads a model from its serialized bytes (the content of a .model file). */
int spm_load_bytes(const void *bytes, size_t len, spm_model **out, char *err, size_t err_capacity);
void spm_free(spm_model *m);
int spm_piece_count(const spm_model *m);
/* Encodes text into a malloc'ed id array. */
int spm_encode(const spm_model *m, const char *text, size_t len, int **ids, size_t *n_ids);
/* Piece string of id (0 <= id < spm_piece_count); owned by the model. */
const char *spm_id_to_piece(const spm_model *m, int id);
/* Decodes piece strings into a malloc'ed NUL-terminated string. */
int spm_decode_pieces(const spm_model *m, const char *const *pieces, size_t n, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
