#include "forward/encode.h"

#include <stdlib.h>

#include "backend/dispatch.h"
#include "base/error.h"
#include "forward/encoder.h"

/* Batch invariance: where the backend has a row block (backend.h), every
 * input's rows start at a multiple of it (its row count rounded up: rows
 * `stride`), so that a text's hidden states are bit for bit those it has
 * encoded alone. The extra rows are padding no query attends to. */
typedef struct invariant_layout {
    int invariant; /* the backend has a row block: products run batch invariant */
    size_t stride; /* rows per input inside the encoder */
    int32_t *ids;  /* [batch, stride], or NULL: in->ids as they are */
    size_t *valid; /* [batch] keys attended, or NULL: as the encoding says */
} invariant_layout;

static nt5_status lay_out(const nt5_model *m, const backend *be, const batch_input *in, int attend_all,
                          invariant_layout *l) {
    size_t block = backend_row_block(be);
    l->invariant = block != 0;
    l->stride = block > 1 ? (in->len + block - 1) / block * block : in->len;
    l->ids = NULL;
    l->valid = NULL;
    if (l->stride == in->len) return NT5_OK;
    l->ids = malloc(in->batch * l->stride * sizeof *l->ids);
    l->valid = attend_all ? malloc(in->batch * sizeof *l->valid) : NULL;
    if (!l->ids || (attend_all && !l->valid)) {
        free(l->ids);
        free(l->valid);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory for %zu token ids", in->batch * l->stride);
    }
    for (size_t b = 0; b < in->batch; b++) {
        for (size_t t = 0; t < l->stride; t++)
            l->ids[b * l->stride + t] = t < in->len ? in->ids[b * in->len + t] : m->cfg.pad_id;
        if (l->valid) l->valid[b] = in->len; /* every real position, padding included, and not the extra rows */
    }
    return NT5_OK;
}

nt5_status encode_run(const nt5_model *m, const backend *be, const batch_input *in, const encode_output *o) {
    size_t d = (size_t)m->cfg.d_model, len = in->len, elem = o->dtype == NT5_DTYPE_F32 ? 4 : 2;
    invariant_layout l;
    nt5_status st = lay_out(m, be, in, o->attend_all, &l);
    if (st != NT5_OK) return st;
    exec_ctx x;
    if ((st = exec_begin(be, &x)) != NT5_OK) {
        free(l.ids);
        free(l.valid);
        return st;
    }
    x.batch_invariant = l.invariant;
    x.max_threads = o->max_threads;
    float *out = op_alloc(&x, in->batch * l.stride * d); /* [batch * stride, d] */
    encoder_forward(&x, &m->cfg, &m->w, l.ids ? l.ids : in->ids, in->batch, l.stride,
                    l.valid         ? l.valid
                    : o->attend_all ? NULL
                                    : in->lengths,
                    out);
    for (size_t b = 0; o->zero_padding && b < in->batch; b++)
        op_zero(&x, out + (b * l.stride + in->lengths[b]) * d, (len - in->lengths[b]) * d);
    if (l.stride == len) op_store(&x, o->dst, o->on_device, o->dtype, out, in->batch * len * d);
    for (size_t b = 0; l.stride != len && b < in->batch; b++) /* [batch, len, d] without the extra rows */
        op_store(&x, (char *)o->dst + b * len * d * elem, o->on_device, o->dtype, out + b * l.stride * d, len * d);
    op_release(&x, out);
    free(l.ids);
    free(l.valid);
    return exec_end(&x);
}
