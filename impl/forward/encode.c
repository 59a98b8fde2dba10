#include "forward/encode.h"

#include <stdlib.h>
#include <string.h>

#include "backend/dispatch.h"
#include "base/error.h"
#include "forward/encoder.h"

/* Batch invariance: where the backend has row classes, the products'
 * rows are placed by them (forward/row_layout.h), so that a text's hidden
 * states are bit for bit those it has encoded alone. Rows whose result is
 * zeroed anyway (padding under a mask with zero_padding) are not computed. */
typedef struct invariant_layout {
    row_layout rows; /* empty where the backend has no row classes */
    size_t *valid;   /* [batch] keys attended, or NULL: as the encoding says */
} invariant_layout;

static void layout_free(invariant_layout *l) {
    row_layout_free(&l->rows);
    free(l->valid);
}

static nt5_status lay_out(const nt5_model *m, const backend *be, const batch_input *in, const encode_output *o,
                          invariant_layout *l) {
    const row_classes *rc = backend_row_classes(be);
    memset(l, 0, sizeof *l);
    if (!rc) return NT5_OK;
    int skip_padding = o->zero_padding && !o->attend_all;
    size_t *computed = malloc(in->batch * sizeof *computed); /* [batch] rows computed per input */
    l->valid = o->attend_all ? malloc(in->batch * sizeof *l->valid) : NULL;
    nt5_status st = NT5_OK;
    if (!computed || (o->attend_all && !l->valid)) {
        st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory for %zu inputs", in->batch);
    } else {
        for (size_t b = 0; b < in->batch; b++) {
            computed[b] = skip_padding ? in->lengths[b] : in->len;
            if (l->valid) l->valid[b] = in->len; /* every real position, padding included, and not the extra rows */
        }
        st = row_layout_make(rc, in->ids, in->batch, in->len, computed, m->cfg.pad_id, &l->rows);
    }
    free(computed);
    if (st != NT5_OK) layout_free(l);
    return st;
}

nt5_status encode_run(const nt5_model *m, const backend *be, const batch_input *in, const encode_output *o) {
    size_t d = (size_t)m->cfg.d_model, len = in->len, elem = o->dtype == NT5_DTYPE_F32 ? 4 : 2;
    invariant_layout l;
    nt5_status st = lay_out(m, be, in, o, &l);
    if (st != NT5_OK) return st;
    exec_ctx x;
    if ((st = exec_begin(be, &x)) != NT5_OK) {
        layout_free(&l);
        return st;
    }
    const row_layout *lay = l.rows.ids ? &l.rows : NULL;
    x.batch_invariant = lay != NULL;
    x.max_threads = o->max_threads;
    size_t stride = lay ? lay->stride : len;
    float *out = op_alloc(&x, in->batch * stride * d); /* [batch * stride, d] */
    encoder_forward(&x, &m->cfg, &m->w, lay ? lay->ids : in->ids, in->batch, stride,
                    l.valid         ? l.valid
                    : o->attend_all ? NULL
                                    : in->lengths,
                    lay, out);
    for (size_t b = 0; o->zero_padding && exec_status(&x) == NT5_OK && b < in->batch; b++)
        op_zero(&x, out + (b * stride + in->lengths[b]) * d, (len - in->lengths[b]) * d);
    if (stride == len) op_store(&x, o->dst, o->on_device, o->dtype, out, in->batch * len * d);
    for (size_t b = 0; stride != len && exec_status(&x) == NT5_OK && b < in->batch; b++) /* without the extra rows */
        op_store(&x, (char *)o->dst + b * len * d * elem, o->on_device, o->dtype, out + b * stride * d, len * d);
    op_release(&x, out);
    layout_free(&l);
    return exec_end(&x);
}
