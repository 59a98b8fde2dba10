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
    int invariant; /* the backend has row classes: products run batch invariant */
    row_layout rows;
    size_t *valid;    /* [batch] keys attended, or NULL: as the encoding says */
    size_t *computed; /* [batch] rows computed per input */
} invariant_layout;

static void layout_free(invariant_layout *l) {
    row_layout_free(&l->rows);
    free(l->valid);
    free(l->computed);
}

static nt5_status lay_out(const nt5_model *m, const backend *be, const batch_input *in, const encode_output *o,
                          invariant_layout *l) {
    const row_classes *rc = backend_row_classes(be);
    memset(l, 0, sizeof *l);
    l->invariant = rc != NULL;
    if (!rc) return NT5_OK;
    int skip_padding = o->zero_padding && !o->attend_all;
    l->computed = malloc(in->batch * sizeof *l->computed);
    l->valid = o->attend_all ? malloc(in->batch * sizeof *l->valid) : NULL;
    if (!l->computed || (o->attend_all && !l->valid)) {
        layout_free(l);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory for %zu inputs", in->batch);
    }
    for (size_t b = 0; b < in->batch; b++) {
        l->computed[b] = skip_padding ? in->lengths[b] : in->len;
        if (l->valid) l->valid[b] = in->len; /* every real position, padding included, and not the extra rows */
    }
    nt5_status st = row_layout_make(rc, in->ids, in->batch, in->len, l->computed, m->cfg.pad_id, &l->rows);
    if (st != NT5_OK) layout_free(l);
    return st;
}

/* out [rows, d] in the products' order into `in_order` [batch * stride, d]
 * (rows not computed come out as any row: zero_padding zeroes them) */
static float *in_input_order(exec_ctx *x, const invariant_layout *l, size_t batch, size_t d, float *out) {
    size_t rows = batch * l->rows.stride;
    float *in_order = op_alloc(x, rows * d);
    int32_t *index = (int32_t *)op_alloc(x, rows);
    op_upload_ints(x, index, l->rows.product_row, rows);
    op_gather_blocks(x, in_order, out, index, rows, d, d);
    op_release(x, (float *)index);
    return in_order;
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
    x.batch_invariant = l.invariant;
    x.max_threads = o->max_threads;
    const row_layout *lay = l.invariant ? &l.rows : NULL;
    size_t stride = lay ? lay->stride : len;
    float *out = op_alloc(&x, (lay ? lay->rows : in->batch * len) * d); /* [rows, d] */
    encoder_forward(&x, &m->cfg, &m->w, lay ? lay->ids : in->ids, in->batch, stride,
                    l.valid         ? l.valid
                    : o->attend_all ? NULL
                                    : in->lengths,
                    lay, out);
    float *res = lay ? in_input_order(&x, &l, in->batch, d, out) : out; /* [batch * stride, d] */
    for (size_t b = 0; o->zero_padding && exec_status(&x) == NT5_OK && b < in->batch; b++)
        op_zero(&x, res + (b * stride + in->lengths[b]) * d, (len - in->lengths[b]) * d);
    if (stride == len) op_store(&x, o->dst, o->on_device, o->dtype, res, in->batch * len * d);
    for (size_t b = 0; stride != len && exec_status(&x) == NT5_OK && b < in->batch; b++) /* without the extra rows */
        op_store(&x, (char *)o->dst + b * len * d * elem, o->on_device, o->dtype, res + b * stride * d, len * d);
    if (res != out) op_release(&x, res);
    op_release(&x, out);
    layout_free(&l);
    return exec_end(&x);
}
