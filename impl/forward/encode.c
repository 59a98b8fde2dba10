#include "forward/encode.h"

#include "backend/dispatch.h"
#include "forward/encoder.h"

nt5_status encode_run(const nt5_model *m, const backend *be, const batch_input *in, const encode_output *o) {
    size_t d = (size_t)m->cfg.d_model, rows = in->batch * in->len;
    exec_ctx x;
    nt5_status st = exec_begin(be, &x);
    if (st != NT5_OK) return st;
    float *out = op_alloc(&x, rows * d); /* [batch * len, d] */
    encoder_forward(&x, &m->cfg, &m->w, in->ids, in->batch, in->len, o->attend_all ? NULL : in->lengths, out);
    for (size_t b = 0; o->zero_padding && b < in->batch; b++)
        op_zero(&x, out + (b * in->len + in->lengths[b]) * d, (in->len - in->lengths[b]) * d);
    op_store(&x, o->dst, o->on_device, o->dtype, out, rows * d);
    op_release(&x, out);
    return exec_end(&x);
}
