#include "forward/encoder.h"

#include "backend/dispatch.h"
#include "forward/blocks.h"

void encoder_forward(exec_ctx *x, const t5_config *c, const weights *w, const int32_t *ids, size_t batch, size_t len,
                     const size_t *valid, const row_layout *lay, float *out) {
    size_t inputs = batch * len, rows = lay ? lay->rows : inputs;
    size_t d = (size_t)c->d_model, inner = block_inner(c), F = (size_t)c->d_ff;
    float *h = op_alloc(x, rows * d);                   /* [rows, d] residual stream */
    float *n = op_alloc(x, rows * d);                   /* [rows, d] normed */
    float *qkv = op_alloc(x, rows * 3 * inner);         /* [rows, 3 * inner] */
    float *attn = op_alloc(x, rows * inner);            /* [rows, inner] */
    float *ff = op_alloc(x, block_ffn_floats(c, rows)); /* [rows, d_ff or 2 d_ff] */
    float *act = op_alloc(x, rows * F);                 /* [rows, d_ff] */
    int32_t *dev_ids = (int32_t *)op_alloc(x, rows);    /* [rows] ids in backend memory */
    op_upload_ints(x, dev_ids, ids, rows);
    /* with a layout, attention takes its rows in input order: [inputs, 3 * inner] in, [inputs, inner] out */
    float *qkv_in = lay ? op_alloc(x, inputs * 3 * inner) : qkv, *attn_in = lay ? op_alloc(x, inputs * inner) : attn;
    int32_t *product_row = lay ? (int32_t *)op_alloc(x, inputs) : NULL; /* [inputs] */
    int32_t *input_row = lay ? (int32_t *)op_alloc(x, rows) : NULL;     /* [rows] */
    if (lay) {
        op_upload_ints(x, product_row, lay->product_row, inputs);
        op_upload_ints(x, input_row, lay->input_row, rows);
    }
    op_embed(x, h, &w->shared, dev_ids, rows, d);
    for (int l = 0; l < c->num_layers; l++) {
        const enc_layer *L = &w->enc[l];
        block_norm_for(x, &L->qkv, n, h, L->ln_attn, rows, c, 1.0f);
        block_linear(x, qkv, 3 * inner, n, &L->qkv, rows, 3 * inner, d, 0);
        if (lay) op_gather_blocks(x, qkv_in, qkv, product_row, inputs, 3 * inner, 3 * inner);
        product_input po = block_input_of(x, &L->o); /* fp32 with a layout (backend.h row_classes) */
        attn_args a = {
            .out = attn_in,
            .out_dtype = po.dtype,
            .out_scale = po.scale,
            .q = qkv_in,
            .k = qkv_in + inner,
            .v = qkv_in + 2 * inner,
            .ld_out = inner,
            .ld_q = 3 * inner,
            .ld_kv = 3 * inner,
            .batch = batch,
            .q_len = len,
            .kv_len = len,
            .kv_rows = len,
            .heads = (size_t)c->num_heads,
            .d_kv = (size_t)c->d_kv,
            .kv_group = 1,
            .kv_valid = valid,
            .bias_table = L->bias,
            .bidirectional = 1,
            .num_buckets = c->num_buckets,
            .max_distance = c->max_distance,
            .compute_dtype = block_compute_dtype(x, &L->qkv),
        };
        op_attention(x, &a);
        if (lay) op_gather_blocks(x, attn, attn_in, input_row, rows, inner, inner);
        block_linear(x, h, d, attn, &L->o, rows, d, inner, 1);
        block_ffn(x, c, L->ln_ff, &L->wi, &L->wo, h, n, ff, act, rows);
    }
    op_rmsnorm(x, lay ? n : out, NT5_DTYPE_F32, h, w->enc_final_ln, rows, d, c->eps, 1.0f);
    if (lay) op_gather_blocks(x, out, n, product_row, inputs, d, d);
    float *bufs[] = {h, n, qkv, attn, ff, act, (float *)dev_ids, (float *)product_row, (float *)input_row};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) op_release(x, bufs[i]);
    if (lay) { /* without a layout these are qkv and attn */
        op_release(x, qkv_in);
        op_release(x, attn_in);
    }
}
