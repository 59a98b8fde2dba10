#include "generate/generate.h"

#include "backend/dispatch.h"
#include "forward/encoder.h"
#include "generate/search_beam.h"
#include "generate/search_greedy.h"

nt5_status generate_run(const nt5_model *m, const backend *be, const nt5_generate_options *o, const batch_input *in,
                        gen_sequence *out) {
    exec_ctx x;
    nt5_status st = exec_begin(be, &x);
    if (st != NT5_OK) return st;
    x.max_threads = o->num_threads;
    size_t rows = in->batch * in->len;
    float *enc = op_alloc(&x, rows * (size_t)m->cfg.d_model); /* [batch * len, d_model] */
    encoder_forward(&x, &m->cfg, &m->w, in->ids, in->batch, in->len, in->lengths, NULL, enc);
    st = exec_status(&x);
    if (st == NT5_OK) {
        gen_call g = {.m = m, .o = o, .in = in, .x = &x, .enc_out = enc, .out = out};
        st = o->num_beams > 1 ? search_beam(&g) : search_greedy(&g);
    }
    op_release(&x, enc);
    nt5_status end = exec_end(&x);
    return st != NT5_OK ? st : end;
}
