#include "generate/stream.h"

#include <stdlib.h>
#include <string.h>

#include "backend/dispatch.h"
#include "base/error.h"

nt5_status stream_token(const gen_call *g, token_stream *s, size_t sequence, int32_t step, int32_t token,
                        const int32_t *ids, size_t n_ids) {
    if (!g->o->on_token) return NT5_OK;
    const char *delta = "";
    char *text = NULL;
    size_t len = 0;
    if (token >= 0 && g->m->tok &&
        tok_decode(g->m->tok, ids, n_ids, NT5_DETOKENIZE_SKIP_SPECIAL | NT5_DETOKENIZE_NO_CLEANUP, g->m->cfg.vocab_size,
                   &text, &len) == NT5_OK) {
        /* text only grows at its end, except where sentencepiece rewrites a
         * boundary; then the delta waits until it grows past it again */
        if (len >= s->emitted_len && (!s->emitted_len || memcmp(text, s->emitted, s->emitted_len) == 0)) {
            delta = text + s->emitted_len;
            free(s->emitted);
            s->emitted = text;
            s->emitted_len = len;
            text = NULL;
        }
    }
    nt5_token_event ev = {
        .struct_size = sizeof ev,
        .token_id = token,
        .sequence_index = sequence,
        .step = step,
        .text = delta,
    };
    int32_t stop = g->o->on_token(&ev, g->o->user_data);
    exec_resume(g->x);
    free(text);
    if (stop) return err_set(NT5_ERR_CANCELLED, "generation cancelled by the token callback at step %d", step);
    return NT5_OK;
}

void stream_free(token_stream *s) {
    free(s->emitted);
    memset(s, 0, sizeof *s);
}
