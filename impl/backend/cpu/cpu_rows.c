/* The CPU backend's row-wise ops: embedding gather, RMSNorm, activations.
 * Each is a function of one row, run over the rows by cpu_for_rows(). */
#include "backend/cpu/cpu_rows.h"

#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "backend/cpu/cpu_parallel.h"
#include "base/fast_math.h"
#include "base/half.h"

typedef struct embed_args {
    float *out;
    const wmat *table;
    const int32_t *ids;
    size_t d;
} embed_args;

/* row ids[i] of the table as floats: 16-bit rows widened (f16 times its
 * 2^weight_exp), block rows dequantized, both exactly */
static void embed_row(const void *ctx, size_t i) {
    const embed_args *a = ctx;
    const wmat *t = a->table;
    const block_type *bt = block_type_of(t->dtype);
    const void *row = (const char *)t->data + (size_t)a->ids[i] * cpu_row_bytes(t->dtype, a->d);
    if (bt) bt->dequantize(row, a->d, a->out + i * a->d);
    else half_to_f32_scaled(a->out + i * a->d, row, a->d, t->dtype, t->weight_exp);
}

void cpu_embed(exec_ctx *x, float *out, const wmat *table, const int32_t *ids, size_t n, size_t d) {
    embed_args a = {out, table, ids, d};
    cpu_for_rows(x, n, 64, embed_row, &a);
}

typedef struct norm_args {
    float *out;
    const float *in, *w;
    size_t d;
    float eps, scale;
} norm_args;

/* sum of x[i]^2 in doubles, as eight partial sums (so that it vectorizes) */
NT5_VECTOR_CLONES static double sum_of_squares(const float *x, size_t n) {
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t l = 0; l < 8; l++) part[l] += (double)x[i + l] * x[i + l];
    for (; i < n; i++) part[0] += (double)x[i] * x[i];
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

static void norm_row(const void *ctx, size_t r) {
    const norm_args *a = ctx;
    const float *x = a->in + r * a->d;
    float *y = a->out + r * a->d;
    double ss = sum_of_squares(x, a->d);
    float inv = 1.0f / sqrtf((float)(ss / (double)a->d) + a->eps);
    for (size_t i = 0; i < a->d; i++) y[i] = a->w[i] * (x[i] * inv) * a->scale;
}

void cpu_rmsnorm(exec_ctx *x, void *out, int32_t out_dtype, const float *in, const float *w, size_t rows, size_t d,
                 float eps, float scale) {
    if (!cpu_is_f32(x, out_dtype, "rmsnorm")) return;
    norm_args a = {out, in, w, d, eps, scale};
    cpu_for_rows(x, rows, 16, norm_row, &a);
}

/* y[i] = act(x[i]) for one row; one loop per activation so each vectorizes */
NT5_VECTOR_CLONES static void activate_row(float *y, const float *x, size_t n, activation act) {
    switch (act) {
    case ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = relu(x[i]);
        break;
    case ACT_GELU:
        for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    case ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) y[i] = fast_gelu_tanh(x[i]);
        break;
    case ACT_SILU:
        for (size_t i = 0; i < n; i++) y[i] = fast_silu(x[i]);
        break;
    }
}

typedef struct act_args {
    float *out;
    const float *in;
    size_t ld_in, F;
    float scale;
    activation act;
    int gated;
} act_args;

static void act_row(const void *ctx, size_t r) {
    const act_args *a = ctx;
    const float *x = a->in + r * a->ld_in;
    float *y = a->out + r * a->F;
    activate_row(y, x, a->F, a->act);
    if (a->gated)
        for (size_t i = 0; i < a->F; i++) y[i] *= x[a->F + i];
    if (a->scale != 1.0f)
        for (size_t i = 0; i < a->F; i++) y[i] *= a->scale;
}

void cpu_ffn_activation(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const float *in, size_t ld_in,
                        size_t M, size_t F, activation act, int gated) {
    if (!cpu_is_f32(x, out_dtype, "activation")) return;
    act_args a = {out, in, ld_in, F, out_scale, act, gated};
    cpu_for_rows(x, M, 8, act_row, &a);
}
