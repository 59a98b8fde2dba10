/* The T5 decoder stack over a cache: the self-attention cache and the
 * cross-attention K/V of a generation call, and one token a row per step. */
#ifndef NT5_IMPL_DECODER_H
#define NT5_IMPL_DECODER_H

#include "backend/backend.h"
#include "model/config.h"
#include "model/weights.h"

/* Decoder state for one generation call: the self-attention cache
 * (allocated once, max_len positions) and the cross-attention K/V,
 * computed once from the encoder output. */
typedef struct decoder_state {
    size_t batch;    /* decoder rows */
    size_t kv_group; /* decoder rows per encoder row (beams) */
    size_t enc_batch, enc_len;
    const size_t *enc_valid; /* [enc_batch] or NULL (no mask); host memory */
    size_t max_len, pos;
    float **self_kv;   /* per layer [batch, max_len, 2 * inner]: k | v */
    float **cross_kv;  /* per layer [enc_batch * enc_len, 2 * inner] */
    float *spare_kv;   /* reorder target, swapped with a layer's cache */
    int32_t *reorder;  /* backend [batch]: a reorder's index (beams) */
    int32_t *step_ids; /* backend [batch]: the step's tokens */
    int32_t *step_pos; /* backend [1]: the step's position */
    void *recorded;    /* the backend's recording of a step (run_recorded) */
    int reordered;     /* the caches have moved since the recording */
    float *h, *n, *qkv, *attn, *ff, *act;
} decoder_state;

/* enc_out: backend buffer [enc_batch * enc_len, d_model]. */
nt5_status decoder_init(exec_ctx *x, const t5_config *c, const weights *w, const float *enc_out, size_t enc_batch,
                        size_t enc_len, const size_t *enc_valid, size_t kv_group, size_t max_len, decoder_state *s);
/* Runs one new token per row (host ids [batch]) at position s->pos and
 * writes logits [batch, vocab] (backend buffer: the same one at every step
 * of a state, as a recorded step writes where it first did). */
void decoder_step(exec_ctx *x, const t5_config *c, const weights *w, decoder_state *s, const int32_t *tokens,
                  float *logits);
/* Row r of the cache becomes old row index[r] (beam search). */
void decoder_reorder(exec_ctx *x, const t5_config *c, decoder_state *s, const int32_t *index);
void decoder_free(exec_ctx *x, const t5_config *c, decoder_state *s);

#endif
