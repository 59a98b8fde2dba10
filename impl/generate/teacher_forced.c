#include "generate/teacher_forced.h"

#include <stdlib.h>

#include "backend/dispatch.h"
#include "base/error.h"
#include "forward/decoder.h"
#include "forward/encoder.h"

nt5_status teacher_forced_logits(const nt5_model *m, const batch_input *in, const int32_t *ids, size_t n,
                                 float *logits) {
    size_t B = in->batch, V = (size_t)m->cfg.vocab_size;
    int32_t *tokens = malloc(B * sizeof *tokens);
    if (!tokens) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    exec_ctx x;
    nt5_status st = exec_begin(m->be, &x);
    if (st != NT5_OK) {
        free(tokens);
        return st;
    }
    float *enc = op_alloc(&x, B * in->len * (size_t)m->cfg.d_model); /* [B * len, d_model] */
    float *out = op_alloc(&x, B * V);                                /* [B, V] a step's logits */
    encoder_forward(&x, &m->cfg, &m->w, in->ids, B, in->len, in->lengths, NULL, enc);
    decoder_state ds; /* decoder_init frees what it made when it fails */
    st = exec_status(&x);
    if (st == NT5_OK) st = decoder_init(&x, &m->cfg, &m->w, enc, B, in->len, in->lengths, 1, n, &ds);
    int started = st == NT5_OK;
    for (size_t t = 0; st == NT5_OK && t < n; t++) {
        for (size_t b = 0; b < B; b++) tokens[b] = ids[t];
        decoder_step(&x, &m->cfg, &m->w, &ds, tokens, out);
        for (size_t b = 0; b < B; b++) op_download(&x, logits + (b * n + t) * V, out + b * V, V);
        st = exec_status(&x);
    }
    if (started) decoder_free(&x, &m->cfg, &ds);
    op_release(&x, enc);
    op_release(&x, out);
    free(tokens);
    nt5_status end = exec_end(&x);
    return st != NT5_OK ? st : end;
}
