/* Backend conformance: every op of the backend contract (backend/backend.h),
 * case by case and dtype by dtype, on seeded random inputs. The CPU backend
 * is checked against naive loops here (double accumulation); a CUDA backend,
 * when one can be created, runs every case again against the CPU backend's
 * result, and also the cases in dtypes only a GPU takes (16-bit product
 * inputs and outputs, bf16/f16 attention), against the CPU's
 * fp32 result of the same numbers. One line per op, case and backend:
 *
 *   ok   cpu  linear M=7 N=130 K=100 in=f32 w=bf16 acc=1  err 2.1e-07
 *   FAIL cuda attention b=1 q=300 kv=513 ...: err 3.1e-02 > 1e-02
 *
 * so a first GPU run names the failing op. (This absorbs the CPU-only
 * test_cpu_ops.c: its product grid and activation checks are cases here.) */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_parallel.h"
#include "backend/cpu/cpu_pool.h"
#include "backend/cuda_loader.h"
#include "backend/dispatch.h"
#include "backend/observing.h"
#include "backend/picks.h"
#include "backend/position_bias.h"
#include "quant/block_type.h"
#include "base/half.h"
#include "forward/row_layout.h"
#include "harness.h"

/* err = max |got - want| / (floor + |want|) must stay within these */
#define TOL_F32 1e-5      /* fp32 arithmetic against the double loops */
#define TOL_F32_PAIR 2e-5 /* a GPU's fp32 arithmetic against the CPU's: both rounded */
#define TOL_BF16 1e-2     /* a bf16 output, or bf16 attention arithmetic */
#define TOL_F16 3e-3
#define TOL_PICK 1e-6 /* log-probabilities and beam scores */
#define POISON 30.0f  /* what fills memory an op must not read (padding, masked keys) */

static const char *dtype_name(int32_t dtype) {
    const block_type *bt = block_type_of(dtype);
    return bt ? bt->name : dtype == NT5_DTYPE_F32 ? "f32" : dtype == NT5_DTYPE_BF16 ? "bf16" : "f16";
}

static size_t dtype_bytes(int32_t dtype) { return dtype == NT5_DTYPE_F32 ? 4 : 2; }

/* floats of a backend buffer that holds n values of dtype */
static size_t floats_for(size_t n, int32_t dtype) { return dtype == NT5_DTYPE_F32 ? n : (n + 1) / 2; }

/* the tolerance of a result rounded to dtype once */
static double rounding_tol(int32_t dtype) {
    return dtype == NT5_DTYPE_BF16 ? TOL_BF16 : dtype == NT5_DTYPE_F16 ? TOL_F16 : TOL_F32_PAIR;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- seeded numbers ---- */

/* splitmix64, seeded from a case's label: each case's inputs depend only on the case */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static rng rng_for(const char *label) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = label; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return (rng){h};
}

/* uniform in [-scale, scale) */
static float rng_float(rng *r, float scale) { return ((float)(rng_next(r) >> 40) / 16777216.0f * 2.0f - 1.0f) * scale; }

static float *random_floats(rng *r, size_t n, float scale) {
    float *p = xcalloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = rng_float(r, scale);
    return p;
}

/* v rounded to dtype and widened back (as a GPU's cast would) */
static float rounded(float v, int32_t dtype) {
    if (dtype == NT5_DTYPE_F32) return v;
    uint16_t h;
    half_from_f32(&h, &v, 1, dtype);
    half_to_f32(&v, &h, 1, dtype);
    return v;
}

/* ---- cases and their lines ---- */

/* What a case produces: values (widened to double) and words that must match
 * exactly (token ids, or the bits of results that are copies). */
typedef struct outputs {
    double *vals;
    int32_t *words;
    size_t n_vals, n_words;
} outputs;

static outputs outputs_new(size_t n_vals, size_t n_words) {
    return (outputs){xcalloc(n_vals, sizeof(double)), xcalloc(n_words, sizeof(int32_t)), n_vals, n_words};
}

static void outputs_free(outputs *o) {
    free(o->vals);
    free(o->words);
}

/* Where a case runs: on every backend, or only where its dtypes are taken. */
typedef enum where { BOTH, CPU_ONLY, GPU_ONLY } where;

/* A case of an op: its line's label, what it produces and how closely. */
typedef struct case_spec {
    char label[224];
    size_t n_vals, n_words;
    double floor;      /* of err: 1, or 0.1 for the activations (as test_cpu_ops.c) */
    double tol;        /* the CPU against the naive loops */
    double tol_gpu;    /* a GPU against the CPU */
    int32_t out_dtype; /* a GPU's 16-bit output: the CPU's fp32 reference is rounded to it */
    where where;
} case_spec;

static void spec_label(case_spec *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void spec_label(case_spec *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->label, sizeof c->label, fmt, ap);
    va_end(ap);
}

/* An op family: how a case runs on a backend, and the naive loops' answer. */
typedef struct family {
    /* Runs case k on be into got; the call's status. ref_for: be is the CPU
     * computing the reference of that backend's run (in fp32; what ref_for
     * would round, rounded the same way), else NULL. */
    nt5_status (*run)(backend *be, const void *k, const backend *ref_for, outputs *got);
    void (*naive)(const void *k, outputs *want);
} family;

typedef struct suite {
    backend *cpu;
    backend *gpu; /* NULL without one */
} suite;

/* Prints a case's line and counts it in the harness's checks: FAIL with why
 * when why is not empty, else ok with detail. */
static void print_case(const backend *be, const char *label, const char *why, const char *detail) {
    harness_checks++;
    if (*why) {
        harness_failures++;
        printf("FAIL %-5s%s: %s\n", be->ops->name, label, why);
    } else {
        printf("ok   %-5s%s  %s\n", be->ops->name, label, detail);
    }
}

/* The largest error of got against want; NaN (above any tolerance) when a value is NaN. */
static double max_err(const double *got, const double *want, size_t n, double floor) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (got[i] == want[i]) continue; /* equal infinities too */
        double e = fabs(got[i] - want[i]) / (floor + fabs(want[i]));
        if (isnan(e) || e > worst) worst = e;
    }
    return worst;
}

/* Compares a case's outputs and prints its line. */
static void verdict(const backend *be, const case_spec *c, nt5_status st, const char *failed_call, const outputs *got,
                    const outputs *want, double tol) {
    char why[512] = "", detail[64] = "exact";
    if (st != NT5_OK) {
        snprintf(why, sizeof why, "%s%s: %s", failed_call, nt5_status_name(st), nt5_last_error());
    } else {
        size_t i = 0;
        while (i < c->n_words && got->words[i] == want->words[i]) i++;
        double err = max_err(got->vals, want->vals, c->n_vals, c->floor);
        if (i < c->n_words)
            snprintf(why, sizeof why, "word %zu is %d (0x%08x), want %d (0x%08x)", i, (int)got->words[i],
                     (unsigned)got->words[i], (int)want->words[i], (unsigned)want->words[i]);
        else if (!(err <= tol)) snprintf(why, sizeof why, "err %.1e > %.0e", err, tol);
        else if (c->n_vals) snprintf(detail, sizeof detail, "err %.1e", err);
    }
    print_case(be, c->label, why, detail);
}

/* Rounds a GPU case's fp32 reference to its 16-bit output dtype. */
static void round_reference(outputs *want, int32_t dtype) {
    for (size_t i = 0; i < want->n_vals; i++) want->vals[i] = rounded((float)want->vals[i], dtype);
}

/* Runs case k on each backend that takes it: the CPU against the naive
 * loops, a GPU against the CPU. */
static void check_case(const suite *s, const family *f, const void *k, const case_spec *c) {
    backend *targets[2] = {c->where == GPU_ONLY ? NULL : s->cpu, c->where == CPU_ONLY ? NULL : s->gpu};
    for (int t = 0; t < 2; t++) {
        backend *be = targets[t];
        if (!be) continue;
        outputs want = outputs_new(c->n_vals, c->n_words), got = outputs_new(c->n_vals, c->n_words);
        nt5_status st = NT5_OK;
        const char *failed_call = "";
        if (be == s->cpu) {
            f->naive(k, &want);
        } else if ((st = f->run(s->cpu, k, be, &want)) != NT5_OK) {
            failed_call = "the CPU reference: ";
        } else {
            round_reference(&want, c->out_dtype);
        }
        if (st == NT5_OK) st = f->run(be, k, NULL, &got);
        verdict(be, c, st, failed_call, &got, &want, be == s->cpu ? c->tol : c->tol_gpu);
        outputs_free(&want);
        outputs_free(&got);
    }
}

/* ---- one call on a backend ---- */

#define CALL_BUFFERS 16

/* exec_begin to exec_end; the buffers the call allocates are released at its end. */
typedef struct call {
    exec_ctx x;
    nt5_status begun; /* exec_begin's status: when it failed, nothing runs */
    float *bufs[CALL_BUFFERS];
    size_t n_bufs;
} call;

static void call_begin(call *c, const backend *be) {
    memset(c, 0, sizeof *c);
    c->begun = exec_begin(be, &c->x);
    if (c->begun != NT5_OK) c->x.status = c->begun; /* the dispatch layer then runs no op */
}

/* n floats of the call's backend memory (NULL once the call failed) */
static float *call_alloc(call *c, size_t n) {
    if (c->n_bufs == CALL_BUFFERS) {
        fprintf(stderr, "a case allocates more than %d buffers\n", CALL_BUFFERS);
        abort();
    }
    float *p = op_alloc(&c->x, n);
    if (p) c->bufs[c->n_bufs++] = p;
    return p;
}

static float *call_upload(call *c, const float *host, size_t n) {
    float *p = call_alloc(c, n);
    op_upload(&c->x, p, host, n);
    return p;
}

/* an int32 buffer: an alloc'ed float buffer of the same count */
static int32_t *call_upload_ints(call *c, const int32_t *host, size_t n) {
    int32_t *p = (int32_t *)call_alloc(c, n);
    op_upload_ints(&c->x, p, host, n);
    return p;
}

/* n 16-bit values, (n + 1) / 2 floats of backend memory */
static void *call_upload_halves(call *c, const uint16_t *host, size_t n) {
    float *staged = xcalloc(floats_for(n, NT5_DTYPE_BF16), sizeof *staged);
    memcpy(staged, host, n * sizeof *host);
    float *p = call_upload(c, staged, floats_for(n, NT5_DTYPE_BF16));
    free(staged);
    return p;
}

/* n values of dtype at dev, widened into out */
static void call_download(call *c, double *out, const void *dev, size_t n, int32_t dtype) {
    float *raw = xcalloc(floats_for(n, dtype), sizeof *raw), *wide = xcalloc(n, sizeof *wide);
    op_download(&c->x, raw, dev, floats_for(n, dtype));
    half_to_f32(wide, raw, n, dtype);
    for (size_t i = 0; i < n; i++) out[i] = wide[i];
    free(raw);
    free(wide);
}

/* the bits of host values of dtype (32 or 16 of them) as words */
static void bits_to_words(int32_t *words, const void *host, size_t n, int32_t dtype) {
    for (size_t i = 0; i < n; i++) {
        if (dtype == NT5_DTYPE_F32) {
            memcpy(&words[i], (const char *)host + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, (const char *)host + 2 * i, 2);
            words[i] = h;
        }
    }
}

/* n values of dtype at dev, bit for bit into words */
static void call_download_bits(call *c, int32_t *words, const void *dev, size_t n, int32_t dtype) {
    float *raw = xcalloc(floats_for(n, dtype), sizeof *raw);
    op_download(&c->x, raw, dev, floats_for(n, dtype));
    bits_to_words(words, raw, n, dtype);
    free(raw);
}

static nt5_status call_end(call *c) {
    while (c->n_bufs > 0) op_release(&c->x, c->bufs[--c->n_bufs]);
    return c->begun != NT5_OK ? c->begun : exec_end(&c->x);
}

/* ---- weight matrices ---- */

/* A weight matrix on the host: its stored bytes and the values they stand for. */
typedef struct host_matrix {
    size_t rows, cols;
    int32_t dtype, weight_exp, input_exp;
    void *stored;  /* [rows, cols] in dtype (f16: value * 2^-weight_exp) */
    float *values; /* [rows, cols] */
} host_matrix;

/* random values in [-1, 1) as dtype (the values rounded to what dtype stores) */
/* bytes of n values of a weight dtype (blocks: whole ones) */
static size_t matrix_bytes(int32_t dtype, size_t n) {
    const block_type *bt = block_type_of(dtype);
    return bt ? block_type_row_bytes(bt, n) : n * dtype_bytes(dtype);
}

static host_matrix matrix_new(rng *r, size_t rows, size_t cols, int32_t dtype, int32_t input_exp) {
    size_t n = rows * cols;
    host_matrix m = {rows, cols, dtype, 0, input_exp, xcalloc(matrix_bytes(dtype, n), 1), random_floats(r, n, 1.0f)};
    const block_type *bt = block_type_of(dtype);
    if (bt) {
        bt->quantize(m.values, n, m.stored);
        bt->dequantize(m.stored, n, m.values);
    } else if (dtype == NT5_DTYPE_F16) {
        m.weight_exp = f16_exponent(m.values, n);
        float *scaled = xcalloc(n, sizeof *scaled);
        memcpy(scaled, m.values, n * sizeof *scaled);
        half_from_f32_scaled(m.stored, scaled, n, dtype, m.weight_exp);
        half_to_f32_scaled(m.values, m.stored, n, dtype, m.weight_exp);
        free(scaled);
    } else {
        half_from_f32(m.stored, m.values, n, dtype);
        half_to_f32(m.values, m.stored, n, dtype);
    }
    return m;
}

static void matrix_free(host_matrix *m) {
    free(m->stored);
    free(m->values);
}

/* m in be's weight memory; as_f32: its values as an f32 matrix (the CPU's
 * stand-in for an f16 one). data is NULL when the backend could not take it. */
static wmat matrix_adopt(backend *be, const host_matrix *m, int as_f32) {
    int32_t dtype = as_f32 ? NT5_DTYPE_F32 : m->dtype;
    size_t bytes = matrix_bytes(dtype, m->rows * m->cols);
    void *copy = xcalloc(bytes, 1);
    memcpy(copy, as_f32 ? (const void *)m->values : m->stored, bytes);
    return (wmat){be->ops->adopt_weight(be, copy, bytes),     dtype, 0, dtype == NT5_DTYPE_F16 ? m->weight_exp : 0,
                  dtype == NT5_DTYPE_F16 ? m->input_exp : -1, NULL,  0};
}

static void matrix_release(backend *be, wmat *w) {
    if (w->data) be->ops->free_weight(be, (void *)w->data);
}

/* ---- upload and download ---- */

typedef struct round_trip_case {
    size_t n, n_ints;
    float *floats;       /* [n] specials, then random */
    const int32_t *ints; /* [n_ints] */
} round_trip_case;

static nt5_status round_trip_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const round_trip_case *k = kv;
    (void)ref_for;
    call c;
    call_begin(&c, be);
    call_download_bits(&c, got->words, call_upload(&c, k->floats, k->n), k->n, NT5_DTYPE_F32);
    call_download_bits(&c, got->words + k->n, call_upload_ints(&c, k->ints, k->n_ints), k->n_ints, NT5_DTYPE_F32);
    return call_end(&c);
}

static void round_trip_naive(const void *kv, outputs *want) {
    const round_trip_case *k = kv;
    bits_to_words(want->words, k->floats, k->n, NT5_DTYPE_F32);
    memcpy(want->words + k->n, k->ints, k->n_ints * sizeof *k->ints);
}

static void check_round_trips(const suite *s) {
    static const family f = {round_trip_run, round_trip_naive};
    static const float specials[] = {-0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -3.4e38f, 1.0f};
    static const int32_t ints[] = {0, -1, 1, 2147483647, -2147483647 - 1, 513, -77, 65536, 12345678};
    round_trip_case k = {1003, sizeof ints / sizeof *ints, NULL, ints};
    case_spec c = {.n_words = k.n + k.n_ints, .where = BOTH};
    spec_label(&c, "upload/download n=%zu ints=%zu", k.n, k.n_ints);
    rng r = rng_for(c.label);
    k.floats = random_floats(&r, k.n, 100.0f);
    memcpy(k.floats, specials, sizeof specials);
    check_case(s, &f, &k, &c);
    free(k.floats);
}

/* ---- embed ---- */

typedef struct embed_case {
    size_t n, d;
    int32_t *ids;      /* [n] */
    host_matrix table; /* [vocab, d] */
} embed_case;

static nt5_status embed_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const embed_case *k = kv;
    wmat table = matrix_adopt(be, &k->table, ref_for && k->table.dtype == NT5_DTYPE_F16);
    if (!table.data) return NT5_ERR_OUT_OF_MEMORY;
    call c;
    call_begin(&c, be);
    float *out = call_alloc(&c, k->n * k->d);
    op_embed(&c.x, out, &table, call_upload_ints(&c, k->ids, k->n), k->n, k->d);
    call_download(&c, got->vals, out, k->n * k->d, NT5_DTYPE_F32);
    nt5_status st = call_end(&c);
    matrix_release(be, &table);
    return st;
}

static void embed_naive(const void *kv, outputs *want) {
    const embed_case *k = kv;
    for (size_t i = 0; i < k->n; i++)
        for (size_t j = 0; j < k->d; j++) want->vals[i * k->d + j] = k->table.values[(size_t)k->ids[i] * k->d + j];
}

static void check_embed(const suite *s) {
    static const family f = {embed_run, embed_naive};
    static const struct {
        size_t d;
        int32_t dtype;
    } cases[] = {{64, NT5_DTYPE_F32}, {64, NT5_DTYPE_BF16}, {37, NT5_DTYPE_BF16}, {64, NT5_DTYPE_F16}};
    int32_t ids[] = {3, 0, 49, 17, 3, 3, 48, 1, 25}; /* repeats, and both ends of a 50-row table */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        embed_case k = {sizeof ids / sizeof *ids, cases[i].d, ids, {0}};
        case_spec c = {.n_vals = k.n * k.d, .floor = 1, .tol = 0, .tol_gpu = 0, .where = BOTH};
        spec_label(&c, "embed d=%zu n=%zu table=%s", k.d, k.n, dtype_name(cases[i].dtype));
        rng r = rng_for(c.label);
        k.table = matrix_new(&r, 50, k.d, cases[i].dtype, -1);
        check_case(s, &f, &k, &c);
        matrix_free(&k.table);
    }
}

/* ---- RMSNorm ---- */

typedef struct norm_case {
    size_t rows, d;
    int32_t out_dtype;
    float eps, scale;
    float *in, *w; /* [rows, d], [d] */
} norm_case;

static nt5_status norm_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const norm_case *k = kv;
    int32_t dtype = ref_for ? NT5_DTYPE_F32 : k->out_dtype;
    size_t n = k->rows * k->d;
    call c;
    call_begin(&c, be);
    float *out = call_alloc(&c, floats_for(n, dtype));
    op_rmsnorm(&c.x, out, dtype, call_upload(&c, k->in, n), call_upload(&c, k->w, k->d), k->rows, k->d, k->eps,
               k->scale);
    call_download(&c, got->vals, out, n, dtype);
    return call_end(&c);
}

static void norm_naive(const void *kv, outputs *want) {
    const norm_case *k = kv;
    for (size_t r = 0; r < k->rows; r++) {
        const float *x = k->in + r * k->d;
        double ss = 0;
        for (size_t i = 0; i < k->d; i++) ss += (double)x[i] * x[i];
        double inv = 1.0 / sqrt(ss / (double)k->d + k->eps);
        for (size_t i = 0; i < k->d; i++) want->vals[r * k->d + i] = k->w[i] * (x[i] * inv) * k->scale;
    }
}

static void check_rmsnorm(const suite *s) {
    static const family f = {norm_run, norm_naive};
    static const struct {
        size_t rows, d;
        int32_t dtype;
        float scale;
    } cases[] = {{5, 64, NT5_DTYPE_F32, 1.0f},  {3, 37, NT5_DTYPE_F32, 0.5f},   {3, 37, NT5_DTYPE_BF16, 1.0f},
                 {5, 64, NT5_DTYPE_BF16, 1.0f}, {3, 37, NT5_DTYPE_F16, 0.125f}, {5, 64, NT5_DTYPE_F16, 0.25f}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        norm_case k = {cases[i].rows, cases[i].d, cases[i].dtype, 1e-6f, cases[i].scale, NULL, NULL};
        case_spec c = {.n_vals = k.rows * k.d,
                       .floor = 1,
                       .tol = TOL_F32,
                       .tol_gpu = rounding_tol(k.out_dtype),
                       .out_dtype = k.out_dtype,
                       .where = k.out_dtype == NT5_DTYPE_F32 ? BOTH : GPU_ONLY};
        spec_label(&c, "rmsnorm rows=%zu d=%zu out=%s scale=%g", k.rows, k.d, dtype_name(k.out_dtype), k.scale);
        rng r = rng_for(c.label);
        k.in = random_floats(&r, k.rows * k.d, 3.0f);
        k.w = random_floats(&r, k.d, 1.0f);
        check_case(s, &f, &k, &c);
        free(k.in);
        free(k.w);
    }
}

/* ---- linear and linear_relu ---- */

typedef struct linear_case {
    size_t M, N, K, ld_in, ld_out; /* ld_out: linear's; linear_relu's out is dense */
    int32_t in_dtype, out_dtype;   /* out_dtype: linear_relu's */
    int accumulate, relu;
    float out_scale;
    float *in;         /* [M, ld_in] (the columns past K poisoned) */
    float *in_rounded; /* [M, ld_in] in as a product in w's 16-bit dtype reads it, or NULL */
    uint16_t *in_half; /* [M, K] the 16-bit input when in_dtype is one, else NULL */
    float *out0;       /* [M, ld_out] linear's out before the product */
    host_matrix w;     /* [N, K] */
} linear_case;

/* The input scale of an f16 product: its input is divided by 2^it. */
static int input_shift(const host_matrix *w) {
    return w->dtype == NT5_DTYPE_F16 && w->input_exp > 0 ? w->input_exp : 0;
}

/* in rounded to w's 16-bit dtype after the input scale, and scaled back;
 * in_half the rounded bits themselves (dense) when the input is 16-bit. */
static void linear_round_input(linear_case *k) {
    if (k->w.dtype == NT5_DTYPE_F32) return;
    int shift = input_shift(&k->w);
    k->in_rounded = xcalloc(k->M * k->ld_in, sizeof(float));
    if (k->in_dtype != NT5_DTYPE_F32) k->in_half = xcalloc(k->M * k->K, sizeof(uint16_t));
    for (size_t m = 0; m < k->M; m++)
        for (size_t i = 0; i < k->K; i++) {
            float v = ldexpf(k->in[m * k->ld_in + i], -shift);
            if (k->in_half) half_from_f32(&k->in_half[m * k->K + i], &v, 1, k->in_dtype);
            k->in_rounded[m * k->ld_in + i] = ldexpf(rounded(v, k->w.dtype), shift);
        }
}

/* the product's input on the call's backend: its dtype and row stride into *dtype, *ld */
static const void *linear_input(call *c, const linear_case *k, const backend *ref_for, int32_t *dtype, size_t *ld) {
    *ld = k->ld_in;
    *dtype = ref_for ? NT5_DTYPE_F32 : k->in_dtype;
    if (*dtype != NT5_DTYPE_F32) return call_upload_halves(c, k->in_half, k->M * k->K);
    /* the reference reads a 16-bit input's values, and what a backend computing in w's dtype reads of f32 rows */
    int reads_rounded = ref_for && k->in_rounded &&
                        (k->in_dtype != NT5_DTYPE_F32 || ref_for->ops->computes_in_weight_dtype);
    return call_upload(c, reads_rounded ? k->in_rounded : k->in, k->M * k->ld_in);
}

static nt5_status linear_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const linear_case *k = kv;
    wmat w = matrix_adopt(be, &k->w, ref_for && k->w.dtype == NT5_DTYPE_F16);
    if (!w.data) return NT5_ERR_OUT_OF_MEMORY;
    call c;
    call_begin(&c, be);
    int32_t in_dtype, out_dtype = ref_for ? NT5_DTYPE_F32 : k->out_dtype;
    size_t ld_in;
    const void *in = linear_input(&c, k, ref_for, &in_dtype, &ld_in);
    if (k->relu) {
        float *out = call_alloc(&c, floats_for(k->M * k->N, out_dtype));
        op_linear_relu(&c.x, out, out_dtype, k->out_scale, in, in_dtype, ld_in, &w, k->M, k->N, k->K);
        call_download(&c, got->vals, out, k->M * k->N, out_dtype);
    } else {
        float *out = call_upload(&c, k->out0, k->M * k->ld_out);
        op_linear(&c.x, out, k->ld_out, in, in_dtype, ld_in, &w, k->M, k->N, k->K, k->accumulate);
        call_download(&c, got->vals, out, k->M * k->ld_out, NT5_DTYPE_F32);
    }
    nt5_status st = call_end(&c);
    matrix_release(be, &w);
    return st;
}

/* in @ w^T in double, (+ out0), ReLU'd and scaled for linear_relu; out0's
 * columns past N stay */
static void linear_naive(const void *kv, outputs *want) {
    const linear_case *k = kv;
    size_t ld = k->relu ? k->N : k->ld_out;
    for (size_t m = 0; m < k->M; m++)
        for (size_t n = 0; n < ld; n++) {
            if (n >= k->N) {
                want->vals[m * ld + n] = k->out0[m * ld + n];
                continue;
            }
            double acc = !k->relu && k->accumulate ? k->out0[m * ld + n] : 0;
            for (size_t i = 0; i < k->K; i++) acc += (double)k->in[m * k->ld_in + i] * k->w.values[n * k->K + i];
            want->vals[m * ld + n] = k->relu ? (acc > 0 ? acc : 0) * k->out_scale : acc;
        }
}

/* "in=f32 w=bf16", "in=f16 w=f16 ie=3" */
static void linear_dtypes_label(char *buf, size_t cap, const linear_case *k) {
    if (k->w.dtype == NT5_DTYPE_F16)
        snprintf(buf, cap, "in=%s w=f16 ie=%d", dtype_name(k->in_dtype), (int)k->w.input_exp);
    else snprintf(buf, cap, "in=%s w=%s", dtype_name(k->in_dtype), dtype_name(k->w.dtype));
}

/* Builds case k's inputs (k holds its shape and dtypes), checks it and frees them. */
static void check_linear_case(const suite *s, linear_case k, int32_t w_dtype, int32_t input_exp, where where) {
    static const family f = {linear_run, linear_naive};
    char dtypes[64], lds[64] = "";
    k.w.dtype = w_dtype;
    k.w.input_exp = input_exp;
    linear_dtypes_label(dtypes, sizeof dtypes, &k);
    int n = k.ld_in != k.K ? snprintf(lds, sizeof lds, " ld_in=%zu", k.ld_in) : 0;
    if (!k.relu && k.ld_out != k.N) snprintf(lds + n, sizeof lds - (size_t)n, " ld_out=%zu", k.ld_out);
    case_spec c = {.n_vals = k.M * (k.relu ? k.N : k.ld_out),
                   .floor = 1,
                   .tol = TOL_F32,
                   .tol_gpu = rounding_tol(k.relu ? k.out_dtype : NT5_DTYPE_F32),
                   .out_dtype = k.relu ? k.out_dtype : NT5_DTYPE_F32,
                   .where = where};
    if (k.relu)
        spec_label(&c, "linear_relu M=%zu N=%zu K=%zu %s out=%s scale=%g%s", k.M, k.N, k.K, dtypes,
                   dtype_name(k.out_dtype), k.out_scale, lds);
    else spec_label(&c, "linear M=%zu N=%zu K=%zu %s acc=%d%s", k.M, k.N, k.K, dtypes, k.accumulate, lds);
    rng r = rng_for(c.label);
    k.in = random_floats(&r, k.M * k.ld_in, 1.0f);
    for (size_t m = 0; m < k.M; m++)
        for (size_t i = k.K; i < k.ld_in; i++) k.in[m * k.ld_in + i] = POISON;
    k.w = matrix_new(&r, k.N, k.K, w_dtype, input_exp);
    k.out0 = random_floats(&r, k.M * k.ld_out, 1.0f);
    linear_round_input(&k);
    check_case(s, &f, &k, &c);
    free(k.in);
    free(k.in_rounded);
    free(k.in_half);
    free(k.out0);
    matrix_free(&k.w);
}

/* Products on the CPU in `dtypes` (f32 inputs) at sizes that are not
 * multiples of the blocks of its vector, small-M and BLAS paths, K from Ks */
static void check_linear_sizes(const suite *s, const size_t *Ks, size_t n_k, const int32_t *dtypes, size_t n_dtypes) {
    static const size_t Ms[] = {1, 2, 3, 4, 5, 8, 9, 33}, Ns[] = {1, 3, 4, 17, 130};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t d = 0; d < n_k; d++)
                for (int acc = 0; acc <= 1; acc++)
                    for (size_t t = 0; t < n_dtypes; t++) {
                        linear_case k = {.M = Ms[a],
                                         .N = Ns[b],
                                         .K = Ks[d],
                                         .ld_in = Ks[d],
                                         .ld_out = Ns[b],
                                         .in_dtype = NT5_DTYPE_F32,
                                         .accumulate = acc};
                        check_linear_case(s, k, dtypes[t], -1, CPU_ONLY);
                    }
}

/* test_cpu_ops.c's grid (f32, bf16 and f16 weights), and block weights in rows of one and more blocks */
static void check_linear_grid(const suite *s) {
    static const size_t Ks[] = {1, 7, 16, 33, 100}, q8_0_Ks[] = {32, 96}, k_Ks[] = {256, 512};
    static const int32_t floats[] = {NT5_DTYPE_F32, NT5_DTYPE_BF16, NT5_DTYPE_F16}, q8_0[] = {NT5_DTYPE_Q8_0},
                         k_quants[] = {NT5_DTYPE_Q6_K, NT5_DTYPE_Q5_K, NT5_DTYPE_Q4_K};
    check_linear_sizes(s, Ks, 5, floats, 3);
    check_linear_sizes(s, q8_0_Ks, 2, q8_0, 1);
    check_linear_sizes(s, k_Ks, 2, k_quants, 3);
}

/* The input and weight dtypes of a product: (f32 rows, f32), (f32 rows, bf16), (bf16, bf16), (f32 rows, f16),
 * (f16, f16); the CPU takes those with f32 rows. */
static const struct product_dtypes {
    int32_t in, w, input_exp;
} product_dtypes[] = {{NT5_DTYPE_F32, NT5_DTYPE_F32, -1},
                      {NT5_DTYPE_F32, NT5_DTYPE_BF16, -1},
                      {NT5_DTYPE_BF16, NT5_DTYPE_BF16, -1},
                      {NT5_DTYPE_F32, NT5_DTYPE_F16, 3},
                      {NT5_DTYPE_F16, NT5_DTYPE_F16, 3}};
/* 40 after 64 and 257 after 300: a product that takes the cuBLASLt algorithm of its M's bucket (plans.h) */
static const size_t product_Ms[] = {1, 7, 64, 40, 300, 257};

static where product_where(const struct product_dtypes *p, int32_t out_dtype) {
    return p->in == NT5_DTYPE_F32 && out_dtype == NT5_DTYPE_F32 ? BOTH : GPU_ONLY;
}

static void check_linear(const suite *s) {
    check_linear_grid(s);
    for (size_t m = 0; m < sizeof product_Ms / sizeof *product_Ms; m++)
        for (size_t p = 0; p < sizeof product_dtypes / sizeof *product_dtypes; p++)
            for (int acc = 0; acc <= 1; acc++) {
                const struct product_dtypes *d = &product_dtypes[p];
                size_t K = 100, N = 130;
                linear_case k = {.M = product_Ms[m],
                                 .N = N,
                                 .K = K,
                                 .ld_in = d->in == NT5_DTYPE_F32 ? K + 3 : K,
                                 .ld_out = N + 6,
                                 .in_dtype = d->in,
                                 .accumulate = acc};
                check_linear_case(s, k, d->w, d->input_exp, product_where(d, NT5_DTYPE_F32));
            }
}

/* linear_relu writes the next product's input: fp32, or the weights' 16-bit
 * dtype (f16 scaled by that product's 2^-input_exp) */
static void check_linear_relu(const suite *s) {
    for (size_t m = 0; m < sizeof product_Ms / sizeof *product_Ms; m++)
        for (size_t p = 0; p < sizeof product_dtypes / sizeof *product_dtypes; p++)
            for (int half_out = 0; half_out <= 1; half_out++) {
                const struct product_dtypes *d = &product_dtypes[p];
                int32_t out_dtype = half_out ? d->w : NT5_DTYPE_F32;
                if (half_out && d->w == NT5_DTYPE_F32) continue;
                size_t K = 100, N = 130;
                linear_case k = {.M = product_Ms[m],
                                 .N = N,
                                 .K = K,
                                 .ld_in = d->in == NT5_DTYPE_F32 ? K + 3 : K,
                                 .ld_out = N,
                                 .in_dtype = d->in,
                                 .out_dtype = out_dtype,
                                 .relu = 1,
                                 .out_scale = out_dtype == NT5_DTYPE_F16 ? 0.125f : 1.0f};
                check_linear_case(s, k, d->w, d->input_exp, product_where(d, out_dtype));
                if (d->w == NT5_DTYPE_F32) { /* an out_scale on an fp32 output too */
                    k.out_scale = 0.25f;
                    check_linear_case(s, k, d->w, d->input_exp, product_where(d, out_dtype));
                }
            }
}

/* ---- FFN activations ---- */

typedef struct act_case {
    size_t M, F, ld_in;
    activation act;
    int gated;
    int32_t out_dtype;
    float out_scale;
    float *in; /* [M, ld_in]: the activation's inputs sweep [-10, 10), then the gates; poison after */
} act_case;

static const char *const act_names[] = {"relu", "gelu", "gelu_new", "silu"};

static nt5_status act_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const act_case *k = kv;
    int32_t dtype = ref_for ? NT5_DTYPE_F32 : k->out_dtype;
    size_t n = k->M * k->F;
    call c;
    call_begin(&c, be);
    float *out = call_alloc(&c, floats_for(n, dtype));
    op_ffn_activation(&c.x, out, dtype, k->out_scale, call_upload(&c, k->in, k->M * k->ld_in), k->ld_in, k->M, k->F,
                      k->act, k->gated);
    call_download(&c, got->vals, out, n, dtype);
    return call_end(&c);
}

/* the activations by libm */
static double activated(double v, activation act) {
    switch (act) {
    case ACT_RELU: return v > 0 ? v : 0;
    case ACT_GELU: return 0.5 * v * (1 + erf(v / sqrt(2.0)));
    case ACT_GELU_TANH: return 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    case ACT_SILU: return v / (1 + exp(-v));
    }
    return v;
}

static void act_naive(const void *kv, outputs *want) {
    const act_case *k = kv;
    for (size_t m = 0; m < k->M; m++)
        for (size_t i = 0; i < k->F; i++) {
            const float *x = k->in + m * k->ld_in;
            double y = activated(x[i], k->act) * (k->gated ? x[k->F + i] : 1.0);
            want->vals[m * k->F + i] = y * k->out_scale;
        }
}

/* M * F = 2001 inputs from -10 in steps of 0.01, as test_cpu_ops.c swept */
#define ACT_M 3
#define ACT_F 667

static act_case act_case_new(const char *label, activation act, int gated, int32_t out_dtype, float out_scale) {
    size_t M = ACT_M, F = ACT_F;
    act_case k = {M, F, (gated ? 2 * F : F) + 5, act, gated, out_dtype, out_scale, NULL};
    rng r = rng_for(label);
    k.in = random_floats(&r, M * k.ld_in, 1.0f);
    for (size_t m = 0; m < M; m++) {
        for (size_t i = 0; i < F; i++) k.in[m * k.ld_in + i] = (float)(m * F + i) / 100.0f - 10.0f;
        for (size_t i = gated ? 2 * F : F; i < k.ld_in; i++) k.in[m * k.ld_in + i] = POISON;
    }
    return k;
}

/* The CPU's out_scale multiplies its unscaled result exactly (so a power-of-two scale loses nothing). */
static void check_act_scale_exact(const suite *s, activation act, int gated) {
    char label[96], why[160] = "";
    snprintf(label, sizeof label, "ffn_activation %s%s out_scale=0.25 is exactly out_scale=1 / 4", act_names[act],
             gated ? " gated" : "");
    act_case k = act_case_new(label, act, gated, NT5_DTYPE_F32, 1.0f);
    outputs one = outputs_new(k.M * k.F, 0), quarter = outputs_new(k.M * k.F, 0);
    nt5_status st = act_run(s->cpu, &k, NULL, &one);
    k.out_scale = 0.25f;
    if (st == NT5_OK) st = act_run(s->cpu, &k, NULL, &quarter);
    if (st != NT5_OK) snprintf(why, sizeof why, "%s: %s", nt5_status_name(st), nt5_last_error());
    for (size_t i = 0; !*why && i < k.M * k.F; i++)
        if (quarter.vals[i] != (double)((float)one.vals[i] * 0.25f))
            snprintf(why, sizeof why, "value %zu is %g, not %g / 4", i, quarter.vals[i], one.vals[i]);
    print_case(s->cpu, label, why, "exact");
    outputs_free(&one);
    outputs_free(&quarter);
    free(k.in);
}

static void check_activations(const suite *s) {
    static const family f = {act_run, act_naive};
    static const struct {
        int32_t dtype;
        float scale;
    } outs[] = {{NT5_DTYPE_F32, 1.0f}, {NT5_DTYPE_F32, 0.25f}, {NT5_DTYPE_BF16, 1.0f}, {NT5_DTYPE_F16, 0.25f}};
    for (int act = ACT_RELU; act <= ACT_SILU; act++)
        for (int gated = 0; gated <= 1; gated++) {
            for (size_t o = 0; o < sizeof outs / sizeof *outs; o++) {
                case_spec c = {.n_vals = ACT_M * ACT_F,
                               .floor = 0.1,
                               .tol = TOL_F32,
                               .tol_gpu = rounding_tol(outs[o].dtype),
                               .out_dtype = outs[o].dtype,
                               .where = outs[o].dtype == NT5_DTYPE_F32 ? BOTH : GPU_ONLY};
                spec_label(&c, "ffn_activation %s%s M=%d F=%d out=%s scale=%g", act_names[act], gated ? " gated" : "",
                           ACT_M, ACT_F, dtype_name(outs[o].dtype), outs[o].scale);
                act_case k = act_case_new(c.label, (activation)act, gated, outs[o].dtype, outs[o].scale);
                check_case(s, &f, &k, &c);
                free(k.in);
            }
            check_act_scale_exact(s, (activation)act, gated);
        }
}

/* ---- attention ---- */

typedef enum bias_kind { BIAS_NONE, BIAS_ENCODER, BIAS_DECODER, BIAS_UMT5_ENCODER, BIAS_UMT5_DECODER } bias_kind;
static const char *const bias_names[] = {"none", "encoder", "decoder", "umt5-encoder", "umt5-decoder"};
/* where q, k and v live: apart (ld inner), k and v in one buffer (a cross
 * attention's, ld 2 * inner), or all three in one (self-attention, ld 3 * inner) */
typedef enum qkv_layout { QKV_APART, KV_FUSED, QKV_FUSED } qkv_layout;
static const char *const layout_names[] = {"", " kv-fused", " qkv-fused"};
/* kv_valid: NULL; some kv batches shorter; kv batch 0 fully padded (0 keys) */
typedef enum mask_kind { MASK_NONE, MASK_SOME, MASK_PADDED } mask_kind;
static const char *const mask_names[] = {"", " masked", " padded"};

typedef struct attn_shape {
    size_t batch, q_len, kv_len, heads, d_kv, kv_group, q_offset;
    int causal;
    int step_pos; /* a decoding step's position (read from backend memory), or -1 */
    bias_kind bias;
    int num_buckets, max_distance;
    qkv_layout layout;
    mask_kind mask;
} attn_shape;

typedef struct attn_case {
    attn_shape sh;
    int32_t compute_dtype, out_dtype;
    float out_scale;
    size_t kv_batch, inner, n_keys; /* n_keys: the keys a query may see (kv_len, or step_pos + q_len) */
    size_t *kv_valid;               /* [kv_batch] or NULL */
    float *bufs[3];                 /* the host buffers q, k, v live in */
    size_t buf_len[3];
    size_t at[3], which[3]; /* q, k, v: offset into bufs[which] */
    size_t ld_q, ld_kv;
    float *bias_table; /* [num_buckets, heads] or NULL */
} attn_case;

/* the bias table's bucket mode: an encoder's (1) or a decoder's (0) */
static int attn_bidirectional(const attn_shape *sh) {
    return sh->bias == BIAS_ENCODER || sh->bias == BIAS_UMT5_ENCODER;
}

static nt5_status attn_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const attn_case *k = kv;
    const attn_shape *sh = &k->sh;
    int32_t out_dtype = ref_for ? NT5_DTYPE_F32 : k->out_dtype;
    size_t n_out = sh->batch * sh->q_len * k->inner;
    call c;
    call_begin(&c, be);
    float *dev[3] = {NULL, NULL, NULL}, *qkv[3] = {NULL, NULL, NULL}; /* the buffers; q, k, v in them */
    for (int b = 0; b < 3; b++)
        if (k->bufs[b]) dev[b] = call_upload(&c, k->bufs[b], k->buf_len[b]);
    for (int i = 0; i < 3; i++)
        if (dev[k->which[i]]) qkv[i] = dev[k->which[i]] + k->at[i];
    int32_t step = sh->step_pos;
    float *out = call_alloc(&c, floats_for(n_out, out_dtype));
    const float *bias = k->bias_table ? call_upload(&c, k->bias_table, (size_t)sh->num_buckets * sh->heads) : NULL;
    const int32_t *step_pos = sh->step_pos >= 0 ? call_upload_ints(&c, &step, 1) : NULL;
    attn_args a = {.out = out,
                   .q = qkv[0],
                   .k = qkv[1],
                   .v = qkv[2],
                   .ld_out = k->inner,
                   .ld_q = k->ld_q,
                   .ld_kv = k->ld_kv,
                   .batch = sh->batch,
                   .q_len = sh->q_len,
                   .kv_len = sh->kv_len,
                   .kv_rows = sh->kv_len,
                   .heads = sh->heads,
                   .d_kv = sh->d_kv,
                   .kv_group = sh->kv_group,
                   .kv_valid = k->kv_valid,
                   .bias_table = bias,
                   .bidirectional = attn_bidirectional(sh),
                   .num_buckets = sh->num_buckets,
                   .max_distance = sh->max_distance,
                   .q_offset = sh->q_offset,
                   .step_pos = step_pos,
                   .causal = sh->causal,
                   .compute_dtype = ref_for ? NT5_DTYPE_F32 : k->compute_dtype,
                   .out_dtype = out_dtype,
                   .out_scale = k->out_scale};
    op_attention(&c.x, &a);
    call_download(&c, got->vals, a.out, n_out, out_dtype);
    nt5_status st = call_end(&c);
    if (ref_for && k->out_dtype == NT5_DTYPE_F16) /* f16 output is scaled (exactly: a power of two) */
        for (size_t i = 0; i < n_out; i++) got->vals[i] *= k->out_scale;
    return st;
}

static const float *attn_row(const attn_case *k, int which, size_t row, size_t ld) {
    return k->bufs[k->which[which]] + k->at[which] + row * ld;
}

/* out for query i of batch b, head h: softmax(q.k + bias) v over the keys it sees, in double; none: zeros */
static void attn_naive_row(const attn_case *k, size_t b, size_t h, size_t i, double *s, double *out) {
    const attn_shape *sh = &k->sh;
    size_t kvb = b / sh->kv_group, d = sh->d_kv;
    size_t nk = k->kv_valid && k->kv_valid[kvb] < k->n_keys ? k->kv_valid[kvb] : k->n_keys;
    int64_t pos = (int64_t)((sh->step_pos >= 0 ? (size_t)sh->step_pos : sh->q_offset) + i);
    size_t n_att = sh->causal && (size_t)pos + 1 < nk ? (size_t)pos + 1 : nk;
    const float *q = attn_row(k, 0, b * sh->q_len + i, k->ld_q) + h * d;
    double mx = -INFINITY, sum = 0;
    for (size_t j = 0; j < n_att; j++) {
        const float *kj = attn_row(k, 1, kvb * sh->kv_len + j, k->ld_kv) + h * d;
        s[j] = 0;
        for (size_t t = 0; t < d; t++) s[j] += (double)q[t] * kj[t];
        if (k->bias_table) {
            int bucket = position_bucket((int64_t)j - pos, attn_bidirectional(sh), sh->num_buckets, sh->max_distance);
            s[j] += k->bias_table[(size_t)bucket * sh->heads + h];
        }
        mx = s[j] > mx ? s[j] : mx;
    }
    for (size_t j = 0; j < n_att; j++) sum += (s[j] = exp(s[j] - mx));
    for (size_t t = 0; t < d; t++) out[t] = 0;
    for (size_t j = 0; j < n_att; j++) {
        const float *vj = attn_row(k, 2, kvb * sh->kv_len + j, k->ld_kv) + h * d;
        for (size_t t = 0; t < d; t++) out[t] += s[j] / sum * vj[t];
    }
}

static void attn_naive(const void *kv, outputs *want) {
    const attn_case *k = kv;
    const attn_shape *sh = &k->sh;
    double *s = xcalloc(k->n_keys, sizeof *s);
    for (size_t b = 0; b < sh->batch; b++)
        for (size_t h = 0; h < sh->heads; h++)
            for (size_t i = 0; i < sh->q_len; i++)
                attn_naive_row(k, b, h, i, s, want->vals + (b * sh->q_len + i) * k->inner + h * sh->d_kv);
    free(s);
}

/* keys past what kv batch kvb attends (its kv_valid, or a step's future) hold POISON in k and v */
static void attn_poison_keys(attn_case *k) {
    const attn_shape *sh = &k->sh;
    for (size_t kvb = 0; kvb < k->kv_batch; kvb++) {
        size_t seen = k->kv_valid && k->kv_valid[kvb] < k->n_keys ? k->kv_valid[kvb] : k->n_keys;
        for (size_t j = seen; j < sh->kv_len; j++)
            for (int which = 1; which <= 2; which++) {
                float *row = k->bufs[k->which[which]] + k->at[which] + (kvb * sh->kv_len + j) * k->ld_kv;
                for (size_t t = 0; t < k->inner; t++) row[t] = POISON;
            }
    }
}

/* q, k and v in their layout: random values (q and k halved, so bf16 scores stay within its tolerance) */
static void attn_fill_qkv(attn_case *k, rng *r) {
    const attn_shape *sh = &k->sh;
    size_t q_rows = sh->batch * sh->q_len, kv_rows = k->kv_batch * sh->kv_len, in = k->inner;
    static const size_t which[3][3] = {{0, 1, 2}, {0, 1, 1}, {0, 0, 0}}; /* by layout: q's, k's, v's buffer */
    k->ld_q = sh->layout == QKV_FUSED ? 3 * in : in;
    k->ld_kv = sh->layout == QKV_FUSED ? 3 * in : sh->layout == KV_FUSED ? 2 * in : in;
    size_t at[3][3] = {{0, 0, 0}, {0, 0, in}, {0, in, 2 * in}};
    for (int i = 0; i < 3; i++) {
        k->which[i] = which[sh->layout][i];
        k->at[i] = at[sh->layout][i];
    }
    k->buf_len[0] = q_rows * k->ld_q;
    k->buf_len[1] = sh->layout == QKV_FUSED ? 0 : kv_rows * k->ld_kv;
    k->buf_len[2] = sh->layout == QKV_APART ? kv_rows * k->ld_kv : 0;
    for (int b = 0; b < 3; b++) k->bufs[b] = k->buf_len[b] ? random_floats(r, k->buf_len[b], 1.0f) : NULL;
    for (size_t row = 0; row < q_rows; row++)
        for (size_t t = 0; t < in; t++) k->bufs[k->which[0]][k->at[0] + row * k->ld_q + t] *= 0.5f;
    for (size_t row = 0; row < kv_rows; row++)
        for (size_t t = 0; t < in; t++) k->bufs[k->which[1]][k->at[1] + row * k->ld_kv + t] *= 0.5f;
}

static attn_case attn_case_new(const attn_shape *sh, const char *label) {
    attn_case k = {.sh = *sh, .kv_batch = (sh->batch + sh->kv_group - 1) / sh->kv_group, .inner = sh->heads * sh->d_kv};
    k.n_keys = sh->step_pos >= 0 ? (size_t)sh->step_pos + sh->q_len : sh->kv_len;
    rng r = rng_for(label);
    if (sh->mask != MASK_NONE) {
        k.kv_valid = xcalloc(k.kv_batch, sizeof *k.kv_valid);
        for (size_t b = 0; b < k.kv_batch; b++) k.kv_valid[b] = b % 2 ? k.n_keys * 2 / 3 : k.n_keys;
        if (sh->mask == MASK_PADDED) k.kv_valid[0] = 0;
    }
    attn_fill_qkv(&k, &r);
    attn_poison_keys(&k);
    if (sh->bias != BIAS_NONE) k.bias_table = random_floats(&r, (size_t)sh->num_buckets * sh->heads, 1.0f);
    return k;
}

static void attn_case_free(attn_case *k) {
    for (int b = 0; b < 3; b++) free(k->bufs[b]);
    free(k->kv_valid);
    free(k->bias_table);
}

/* "attention b=4 q=1 kv=513 d_kv=64 causal step_pos=127 bias=decoder nb=32/128" and the dtypes when not f32 */
static void attn_label(case_spec *c, const attn_shape *sh, int32_t compute, int32_t out, float out_scale) {
    char extra[128] = "", dtypes[64] = "";
    int n = 0;
    if (sh->kv_group > 1) n += snprintf(extra + n, sizeof extra - (size_t)n, " group=%zu", sh->kv_group);
    if (sh->q_offset) n += snprintf(extra + n, sizeof extra - (size_t)n, " offset=%zu", sh->q_offset);
    if (sh->causal) n += snprintf(extra + n, sizeof extra - (size_t)n, " causal");
    if (sh->step_pos >= 0) n += snprintf(extra + n, sizeof extra - (size_t)n, " step_pos=%d", sh->step_pos);
    n += snprintf(extra + n, sizeof extra - (size_t)n, " bias=%s", bias_names[sh->bias]);
    if (sh->bias != BIAS_NONE)
        snprintf(extra + n, sizeof extra - (size_t)n, " nb=%d/%d", sh->num_buckets, sh->max_distance);
    if (out == NT5_DTYPE_F16)
        snprintf(dtypes, sizeof dtypes, " compute=%s out=f16 scale=%g", dtype_name(compute), out_scale);
    else if (compute != NT5_DTYPE_F32 || out != NT5_DTYPE_F32)
        snprintf(dtypes, sizeof dtypes, " compute=%s out=%s", dtype_name(compute), dtype_name(out));
    spec_label(c, "attention b=%zu h=%zu q=%zu kv=%zu d_kv=%zu%s%s%s%s", sh->batch, sh->heads, sh->q_len, sh->kv_len,
               sh->d_kv, extra, mask_names[sh->mask], layout_names[sh->layout], dtypes);
}

/* A covering set: query lengths 1, 15, 16, 77, 128, 129, 300; key lengths 1,
 * 77, 128, 129, 300, 513; d_kv 40, 64, 128; every bias mode and layout. */
static const attn_shape attn_shapes[] = {
    /* batch q kv heads d_kv group offset causal step bias buckets layout mask */
    {1, 1, 1, 2, 40, 1, 0, 0, -1, BIAS_ENCODER, 32, 128, QKV_APART, MASK_NONE},
    {2, 77, 77, 2, 64, 1, 0, 0, -1, BIAS_ENCODER, 32, 128, QKV_FUSED, MASK_SOME},
    {1, 129, 129, 3, 40, 1, 0, 0, -1, BIAS_ENCODER, 16, 64, QKV_FUSED, MASK_NONE},
    {2, 128, 128, 2, 128, 1, 0, 0, -1, BIAS_UMT5_ENCODER, 32, 128, QKV_APART, MASK_SOME},
    {2, 300, 300, 2, 64, 1, 0, 1, -1, BIAS_DECODER, 32, 128, QKV_FUSED, MASK_NONE},
    {1, 16, 129, 2, 128, 1, 113, 1, -1, BIAS_DECODER, 16, 64, QKV_APART, MASK_NONE},
    {2, 16, 77, 2, 64, 1, 0, 0, -1, BIAS_NONE, 0, 0, KV_FUSED, MASK_PADDED},
    {2, 77, 513, 2, 64, 1, 0, 0, -1, BIAS_NONE, 0, 0, KV_FUSED, MASK_SOME},
    {4, 15, 129, 2, 64, 2, 0, 0, -1, BIAS_NONE, 0, 0, KV_FUSED, MASK_SOME},
    {4, 1, 129, 2, 64, 2, 0, 0, -1, BIAS_NONE, 0, 0, KV_FUSED, MASK_PADDED},
    {4, 1, 513, 2, 64, 1, 0, 1, 127, BIAS_DECODER, 32, 128, QKV_APART, MASK_NONE},
    {1, 1, 513, 2, 128, 1, 0, 1, 512, BIAS_UMT5_DECODER, 32, 128, QKV_APART, MASK_NONE},
    /* the CPU: 61 keys in two ranges, each a block and a part; a query with no key, in two ranges */
    {1, 1, 77, 3, 40, 1, 0, 1, 60, BIAS_DECODER, 32, 128, KV_FUSED, MASK_NONE},
    {1, 1, 129, 2, 64, 1, 0, 0, -1, BIAS_NONE, 0, 0, KV_FUSED, MASK_PADDED},
    {1, 15, 513, 2, 40, 1, 0, 1, 100, BIAS_DECODER, 16, 64, QKV_APART, MASK_NONE},
    {1, 300, 513, 2, 64, 1, 0, 1, 213, BIAS_UMT5_DECODER, 32, 128, QKV_APART, MASK_NONE},
};

static void check_attention(const suite *s) {
    static const family f = {attn_run, attn_naive};
    /* compute and output dtypes: fp32 on every backend; the GPU's 16-bit arithmetic and outputs */
    static const struct {
        int32_t compute, out;
        double tol;
    } dtypes[] = {{NT5_DTYPE_F32, NT5_DTYPE_F32, TOL_F32_PAIR},
                  {NT5_DTYPE_BF16, NT5_DTYPE_F32, TOL_BF16},
                  {NT5_DTYPE_BF16, NT5_DTYPE_BF16, TOL_BF16},
                  {NT5_DTYPE_F16, NT5_DTYPE_F16, TOL_F16}};
    for (size_t i = 0; i < sizeof attn_shapes / sizeof *attn_shapes; i++)
        for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++) {
            const attn_shape *sh = &attn_shapes[i];
            case_spec c = {.n_vals = sh->batch * sh->q_len * sh->heads * sh->d_kv,
                           .floor = 1,
                           .tol = TOL_F32,
                           .tol_gpu = dtypes[d].tol,
                           .out_dtype = dtypes[d].out,
                           .where = d ? GPU_ONLY : BOTH};
            attn_label(&c, sh, dtypes[d].compute, dtypes[d].out, 0.5f);
            attn_case k = attn_case_new(sh, c.label);
            k.compute_dtype = dtypes[d].compute;
            k.out_dtype = dtypes[d].out;
            k.out_scale = 0.5f;
            check_case(s, &f, &k, &c);
            attn_case_free(&k);
        }
}

/* ---- token picks ---- */

typedef enum pick_kind { PICK_GREEDY, PICK_SAMPLE, PICK_BEAM } pick_kind;

typedef struct pick_case {
    pick_kind kind;
    size_t rows, V, n; /* n: beam candidates per row */
    float *logits;     /* [rows, V] */
    double u[8];       /* sampling's draws, one a row */
    float base[8];     /* beam rows' scores */
    nt5_generate_options o;
} pick_case;

static nt5_status pick_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const pick_case *k = kv;
    (void)ref_for;
    call c;
    call_begin(&c, be);
    const float *logits = call_upload(&c, k->logits, k->rows * k->V);
    int32_t *ids = xcalloc(k->rows, sizeof *ids);
    float *logprobs = xcalloc(k->rows, sizeof *logprobs);
    beam_candidate *top = xcalloc(k->rows * k->n, sizeof *top);
    if (k->kind == PICK_GREEDY) op_greedy_pick(&c.x, logits, k->rows, k->V, ids, logprobs);
    if (k->kind == PICK_SAMPLE) op_sample_pick(&c.x, logits, k->rows, k->V, &k->o, k->u, ids, logprobs);
    if (k->kind == PICK_BEAM) op_beam_candidates(&c.x, logits, k->rows, k->V, k->base, k->n, top);
    nt5_status st = call_end(&c);
    for (size_t r = 0; k->kind != PICK_BEAM && r < k->rows; r++) {
        got->words[r] = ids[r];
        got->vals[r] = logprobs[r];
    }
    for (size_t i = 0; k->kind == PICK_BEAM && i < k->rows * k->n; i++) {
        got->words[2 * i] = top[i].token;
        got->words[2 * i + 1] = top[i].row;
        got->vals[i] = top[i].score;
    }
    free(ids);
    free(logprobs);
    free(top);
    return st;
}

/* backend.h's picks by backend/picks.h, row by row */
static void pick_naive(const void *kv, outputs *want) {
    const pick_case *k = kv;
    float *warped = xcalloc(k->V, sizeof *warped);
    beam_candidate *top = xcalloc(k->n ? k->n : 1, sizeof *top);
    for (size_t r = 0; r < k->rows; r++) {
        const float *s = k->logits + r * k->V;
        float lse = pick_logsumexp(s, k->V);
        if (k->kind == PICK_BEAM) {
            size_t have = 0;
            for (size_t t = 0; t < k->V; t++)
                pick_keep_best(top, &have, k->n, (beam_candidate){(s[t] - lse) + k->base[r], (int32_t)t, (int32_t)r});
            for (size_t i = 0; i < k->n; i++) {
                beam_candidate b = i < have ? top[i] : (beam_candidate){-INFINITY, 0, (int32_t)r};
                want->words[2 * (r * k->n + i)] = b.token;
                want->words[2 * (r * k->n + i) + 1] = b.row;
                want->vals[r * k->n + i] = b.score;
            }
            continue;
        }
        size_t pick = pick_argmax(s, k->V);
        if (k->kind == PICK_SAMPLE) {
            memcpy(warped, s, k->V * sizeof *warped);
            pick_warp(&k->o, warped, k->V);
            pick = pick_sample(warped, k->V, k->u[r]);
        }
        want->words[r] = (int32_t)pick;
        want->vals[r] = s[pick] - lse;
    }
    free(warped);
    free(top);
}

/* Rows of logits with deliberate ties: quarter steps (about 25 tokens share a
 * row's max); one sharp peak; some -inf; continuous values; all equal. */
static float *pick_logits(rng *r, size_t rows, size_t V) {
    float *s = xcalloc(rows * V, sizeof *s);
    for (size_t row = 0; row < rows; row++)
        for (size_t t = 0; t < V; t++) {
            float *v = &s[row * V + t];
            switch (row % 5) {
            case 0: *v = floorf((rng_float(r, 1.0f) + 1.0f) * 20.0f) / 4.0f - 5.0f; break;
            case 1: *v = t == V / 3 ? 20.0f : floorf(rng_float(r, 8.0f)) / 2.0f; break;
            case 2: *v = t % 7 == 3 ? -INFINITY : floorf(rng_float(r, 16.0f)) / 4.0f; break;
            case 3: *v = rng_float(r, 6.0f); break;
            default: *v = 1.5f; break;
            }
        }
    return s;
}

static void check_pick_case(const suite *s, pick_case *k, case_spec *c) {
    static const family f = {pick_run, pick_naive};
    c->floor = 1;
    c->tol = c->tol_gpu = TOL_PICK;
    c->where = BOTH;
    c->n_vals = k->kind == PICK_BEAM ? k->rows * k->n : k->rows;
    c->n_words = k->kind == PICK_BEAM ? 2 * k->rows * k->n : k->rows;
    rng r = rng_for(c->label);
    k->logits = pick_logits(&r, k->rows, k->V);
    check_case(s, &f, k, c);
    free(k->logits);
}

/* pick_argmax is a scan that keeps the first score no later one exceeds
 * (so NaNs are passed over, but a first score of NaN is kept): checked
 * against that scan on rows of every length up to 40 and a vocabulary's,
 * with ties, -inf and NaN at chosen places. */
static void check_argmax_scan(void) {
    rng r = rng_for("argmax scan");
    size_t lengths[42], n_len = 0;
    for (size_t n = 1; n <= 40; n++) lengths[n_len++] = n;
    lengths[n_len++] = 32128;
    lengths[n_len++] = 32131;
    float *s = xcalloc(32131, sizeof *s);
    int failed = 0;
    for (size_t l = 0; l < n_len; l++)
        for (int kind = 0; kind < 6; kind++) {
            size_t n = lengths[l];
            for (size_t i = 0; i < n; i++) s[i] = kind == 4 ? -INFINITY : floorf(rng_float(&r, 4.0f)); /* ties */
            if (kind == 1) s[0] = NAN;                                                                 /* kept */
            if (kind == 2) s[n / 2] = NAN, s[n - 1] = NAN;                                             /* passed over */
            if (kind == 3) s[rng_next(&r) % n] = 9.0f, s[n - 1] = 9.0f;        /* the first of two peaks */
            if (kind == 5) s[rng_next(&r) % n] = -INFINITY, s[n - 1] = 100.0f; /* the last score */
            size_t want = 0;
            for (size_t i = 1; i < n; i++)
                if (s[i] > s[want]) want = i;
            size_t got = pick_argmax(s, n);
            if (got != want && failed++ < 5)
                CHECK(0, "pick_argmax of %zu scores (kind %d): %zu, the scan %zu", n, kind, got, want);
        }
    CHECK(!failed, "pick_argmax differs from the scan in %d rows", failed);
    free(s);
}

static void check_picks(const suite *s) {
    static const double u[8] = {0.0, 0.2, 0.5, 0.9, 0.999999, 0.37, 0.61, 0.05};
    static const float base[8] = {0.0f, -1.25f, -3.5f, -0.5f, -7.0f, -2.0f, -0.75f, -1.0f};
    static const struct {
        float temperature;
        int32_t top_k;
        float top_p;
    } samplings[] = {{1.0f, 0, 1.0f}, {0.7f, 50, 1.0f}, {1.0f, 0, 0.9f}, {1.3f, 20, 0.8f}, {1.0f, 1, 1.0f}};
    size_t rows = 7, V = 1000;
    pick_case k = {.kind = PICK_GREEDY, .rows = rows, .V = V};
    memcpy(k.u, u, sizeof u);
    memcpy(k.base, base, sizeof base);
    nt5_generate_options_init(&k.o, sizeof k.o);
    case_spec c = {0};
    spec_label(&c, "greedy_pick rows=%zu V=%zu ties", rows, V);
    check_pick_case(s, &k, &c);
    k.kind = PICK_SAMPLE;
    for (size_t i = 0; i < sizeof samplings / sizeof *samplings; i++) {
        k.o.temperature = samplings[i].temperature;
        k.o.top_k = samplings[i].top_k;
        k.o.top_p = samplings[i].top_p;
        spec_label(&c, "sample_pick rows=%zu V=%zu ties temperature=%g top_k=%d top_p=%g", rows, V, k.o.temperature,
                   (int)k.o.top_k, k.o.top_p);
        check_pick_case(s, &k, &c);
    }
    check_argmax_scan();
    static const size_t beams[][3] = {{5, 1000, 6}, {7, 300, 1}, {2, 5, 8}}; /* rows, V, n (> V: -inf fills) */
    k.kind = PICK_BEAM;
    for (size_t i = 0; i < sizeof beams / sizeof *beams; i++) {
        k.rows = beams[i][0];
        k.V = beams[i][1];
        k.n = beams[i][2];
        spec_label(&c, "beam_candidates rows=%zu V=%zu n=%zu ties base", k.rows, k.V, k.n);
        check_pick_case(s, &k, &c);
    }
}

/* ---- cache and memory ops ---- */

/* The memory ops: append_rows, gather_blocks, zero, store. Their results are
 * copies or casts, compared bit for bit. */
typedef enum mem_kind { MEM_APPEND, MEM_GATHER, MEM_ZERO, MEM_STORE } mem_kind;

typedef struct mem_case {
    mem_kind kind;
    size_t n;          /* floats of dst (append, gather, zero); values stored (store) */
    float *dst0, *src; /* dst's values before the op [n]; the source */
    size_t src_n;
    /* append_rows: batch rows of cols (src stride ld_src) at row *pos of blocks (block_stride, ld_dst) */
    size_t batch, cols, ld_src, ld_dst, block_stride;
    int32_t pos;
    /* gather_blocks: count blocks of block_elems, blocks every stride; zero: n_zero floats at offset */
    size_t count, block_elems, stride, offset, n_zero;
    int32_t index[4];
    /* store */
    int32_t dtype;
    int on_device;
} mem_case;

static void mem_op(call *c, const mem_case *k, float *dst, const float *src) {
    if (k->kind == MEM_APPEND)
        op_append_rows(&c->x, dst, k->block_stride, k->ld_dst, call_upload_ints(c, &k->pos, 1), src, k->ld_src,
                       k->batch, k->cols);
    if (k->kind == MEM_GATHER)
        op_gather_blocks(&c->x, dst, src, call_upload_ints(c, k->index, k->count), k->count, k->block_elems, k->stride);
    if (k->kind == MEM_ZERO) op_zero(&c->x, dst + k->offset, k->n_zero);
}

static nt5_status mem_run(backend *be, const void *kv, const backend *ref_for, outputs *got) {
    const mem_case *k = kv;
    (void)ref_for;
    call c;
    call_begin(&c, be);
    const float *src = k->src_n ? call_upload(&c, k->src, k->src_n) : NULL;
    void *host = NULL;
    if (k->kind != MEM_STORE) {
        float *dst = call_upload(&c, k->dst0, k->n);
        mem_op(&c, k, dst, src);
        call_download_bits(&c, got->words, dst, k->n, NT5_DTYPE_F32);
    } else if (k->on_device) {
        float *dst = call_alloc(&c, floats_for(k->n, k->dtype));
        op_store(&c.x, dst, 1, k->dtype, src, k->n);
        call_download_bits(&c, got->words, dst, k->n, k->dtype);
    } else {
        host = xcalloc(k->n, dtype_bytes(k->dtype));
        op_store(&c.x, host, 0, k->dtype, src, k->n);
    }
    nt5_status st = call_end(&c);
    if (host) bits_to_words(got->words, host, k->n, k->dtype);
    free(host);
    return st;
}

static void mem_naive(const void *kv, outputs *want) {
    const mem_case *k = kv;
    if (k->kind == MEM_STORE) {
        void *host = xcalloc(k->n, dtype_bytes(k->dtype));
        half_from_f32(host, k->src, k->n, k->dtype);
        bits_to_words(want->words, host, k->n, k->dtype);
        free(host);
        return;
    }
    float *dst = xcalloc(k->n, sizeof *dst);
    memcpy(dst, k->dst0, k->n * sizeof *dst);
    for (size_t b = 0; k->kind == MEM_APPEND && b < k->batch; b++)
        memcpy(dst + b * k->block_stride + (size_t)k->pos * k->ld_dst, k->src + b * k->ld_src, k->cols * sizeof *dst);
    for (size_t b = 0; k->kind == MEM_GATHER && b < k->count; b++)
        memcpy(dst + b * k->stride, k->src + (size_t)k->index[b] * k->stride, k->block_elems * sizeof *dst);
    if (k->kind == MEM_ZERO) memset(dst + k->offset, 0, k->n_zero * sizeof *dst);
    bits_to_words(want->words, dst, k->n, NT5_DTYPE_F32);
    free(dst);
}

static const family mem_family = {mem_run, mem_naive};

static void check_mem_case(const suite *s, mem_case *k, case_spec *c) {
    c->n_words = k->n;
    rng r = rng_for(c->label);
    k->dst0 = k->kind == MEM_STORE ? NULL : random_floats(&r, k->n, 1.0f);
    k->src = random_floats(&r, k->src_n, 1.0f);
    check_case(s, &mem_family, k, c);
    free(k->dst0);
    free(k->src);
}

static void check_cache_ops(const suite *s) {
    static const size_t appends[][6] = {/* batch, cols, ld_src, ld_dst, rows a block, pos */
                                        {3, 37, 40, 48, 10, 6},
                                        {1, 64, 64, 64, 4, 0},
                                        {4, 16, 32, 16, 9, 8}};
    for (size_t i = 0; i < sizeof appends / sizeof *appends; i++) {
        const size_t *a = appends[i];
        mem_case k = {.kind = MEM_APPEND,
                      .batch = a[0],
                      .cols = a[1],
                      .ld_src = a[2],
                      .ld_dst = a[3],
                      .block_stride = a[4] * a[3] + 16,
                      .pos = (int32_t)a[5]};
        k.n = k.batch * k.block_stride;
        k.src_n = k.batch * k.ld_src;
        case_spec c = {.where = BOTH};
        spec_label(&c, "append_rows batch=%zu cols=%zu ld_src=%zu ld_dst=%zu block_stride=%zu pos=%d", k.batch, k.cols,
                   k.ld_src, k.ld_dst, k.block_stride, (int)k.pos);
        check_mem_case(s, &k, &c);
    }
    static const struct {
        size_t count, sources, block_elems, stride;
        int32_t index[4];
    } gathers[] = {{4, 3, 50, 64, {2, 0, 2, 1}}, {2, 2, 33, 33, {1, 0, 0, 0}}, {3, 5, 1, 7, {4, 4, 0, 0}}};
    for (size_t i = 0; i < sizeof gathers / sizeof *gathers; i++) {
        mem_case k = {.kind = MEM_GATHER,
                      .count = gathers[i].count,
                      .block_elems = gathers[i].block_elems,
                      .stride = gathers[i].stride};
        memcpy(k.index, gathers[i].index, sizeof k.index);
        k.n = k.count * k.stride;
        k.src_n = gathers[i].sources * k.stride;
        case_spec c = {.where = BOTH};
        spec_label(&c, "gather_blocks count=%zu block_elems=%zu stride=%zu index=%d,%d,%d,%d", k.count, k.block_elems,
                   k.stride, (int)k.index[0], (int)k.index[1], (int)k.index[2], (int)k.index[3]);
        check_mem_case(s, &k, &c);
    }
    mem_case k = {.kind = MEM_ZERO, .n = 1001, .offset = 3, .n_zero = 990};
    case_spec c = {.where = BOTH};
    spec_label(&c, "zero n=%zu at %zu of %zu", k.n_zero, k.offset, k.n);
    check_mem_case(s, &k, &c);
}

/* Stored values: specials (overflow to f16 inf, f16 subnormals and
 * underflow, signed zero, infinities, halfway cases of both 16-bit dtypes),
 * then random ones. (No NaN: its 16-bit bits are the converter's choice.) */
static void check_store(const suite *s) {
    static const float specials[] = {70000.0f,      65519.0f,       65520.0f,       1e-6f,     3.0e-8f,
                                     2.9802322e-8f, -0.0f,          INFINITY,       -INFINITY, 1.00390625f,
                                     1.01171875f,   1.00048828125f, 1.00146484375f, -3.4e38f};
    for (int32_t dtype = NT5_DTYPE_F32; dtype <= NT5_DTYPE_BF16; dtype++)
        for (int on_device = 0; on_device <= 1; on_device++) {
            mem_case k = {.kind = MEM_STORE, .n = 1001, .src_n = 1001, .dtype = dtype, .on_device = on_device};
            case_spec c = {.n_words = k.n, .where = on_device ? GPU_ONLY : BOTH};
            spec_label(&c, "store n=%zu %s to %s memory", k.n, dtype_name(dtype), on_device ? "device" : "host");
            rng r = rng_for(c.label);
            k.src = random_floats(&r, k.n, 8.0f);
            memcpy(k.src, specials, sizeof specials);
            check_case(s, &mem_family, &k, &c);
            free(k.src);
        }
}

/* ---- NaN propagates as in PyTorch ---- */

/* A NaN input gives a NaN output in every activation (ReLU too: not 0)
 * and in linear_relu, and leaves the other rows finite. */
static void check_nan_inputs(const suite *s) {
    enum { F = 4 };
    const float in[2 * F] = {NAN, 1.0f, -2.0f, 0.5f, 1.0f, 1.0f, 1.0f, 1.0f}; /* row 0 [F], gate ones [F] */
    backend *targets[2] = {s->cpu, s->gpu};
    for (int t = 0; t < 2; t++) {
        backend *be = targets[t];
        if (!be) continue;
        for (int act = 0; act <= ACT_SILU + 1; act++) {
            int product = act == ACT_SILU + 1; /* linear_relu of a NaN input */
            call c;
            call_begin(&c, be);
            const float *dev_in = call_upload(&c, in, 2 * F);
            float *out = call_alloc(&c, F);
            host_matrix m = {0};
            wmat w = {0};
            if (product) {
                rng r = rng_for("nan");
                m = matrix_new(&r, F, F, NT5_DTYPE_F32, -1);
                w = matrix_adopt(be, &m, 0);
                op_linear_relu(&c.x, out, NT5_DTYPE_F32, 1.0f, dev_in, NT5_DTYPE_F32, F, &w, 1, F, F);
            } else {
                op_ffn_activation(&c.x, out, NT5_DTYPE_F32, 1.0f, dev_in, 2 * F, 1, F, (activation)act, 1);
            }
            double got[F];
            call_download(&c, got, out, F, NT5_DTYPE_F32);
            nt5_status st = call_end(&c);
            char label[64], why[320] = "";
            snprintf(label, sizeof label, "%s of NaN", product ? "linear_relu" : act_names[act]);
            if (st != NT5_OK) snprintf(why, sizeof why, "%s: %s", nt5_status_name(st), nt5_last_error());
            else if (!isnan(got[0])) snprintf(why, sizeof why, "gives %g, not NaN", got[0]);
            else if (!product && !(isfinite(got[1]) && isfinite(got[2]) && isfinite(got[3])))
                snprintf(why, sizeof why, "made a finite input non-finite");
            print_case(be, label, why, "NaN");
            if (product) {
                matrix_release(be, &w);
                matrix_free(&m);
            }
        }
    }
}

/* ---- the observing backend (backend/observing.h) over the CPU ---- */

/* what an observer saw: calls, values and the sum of their magnitudes */
typedef struct seen_inputs {
    size_t calls, values;
    double magnitude;
} seen_inputs;

static void count_input(void *user, const wmat *w, const float *in, size_t ld_in, size_t rows, size_t cols) {
    seen_inputs *seen = user;
    (void)w;
    seen->calls++;
    seen->values += rows * cols;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) seen->magnitude += fabs(in[r * ld_in + c]);
}

/* out [M, N] of linear (or linear_relu) of in [M, ld_in] with w on be, into got */
static nt5_status product_on(backend *be, const wmat *w, const float *in, size_t M, size_t N, size_t K, size_t ld_in,
                             int relu, double *got) {
    call c;
    call_begin(&c, be);
    const float *dev_in = call_upload(&c, in, M * ld_in);
    float *out = call_alloc(&c, M * N);
    if (relu) op_linear_relu(&c.x, out, NT5_DTYPE_F32, 0.5f, dev_in, NT5_DTYPE_F32, ld_in, w, M, N, K);
    else op_linear(&c.x, out, N, dev_in, NT5_DTYPE_F32, ld_in, w, M, N, K, 0);
    call_download(&c, got, out, M * N, NT5_DTYPE_F32);
    return call_end(&c);
}

/* What the observing backend's product reads of in [rows, ld]: in, or with
 * emulate f16(in / 2^e) * 2^e, into reads; the magnitude of its first
 * `cols` columns (what the observer sees). */
static double observed_reads(const float *in, float *reads, size_t rows, size_t ld, size_t cols, int emulate, int e) {
    double magnitude = 0;
    for (size_t i = 0; i < rows * ld; i++) {
        reads[i] = emulate ? ldexpf(half_f16_to_f32(half_f32_to_f16(ldexpf(in[i], -e))), e) : in[i];
        if (i % ld < cols) magnitude += fabs(reads[i]);
    }
    return magnitude;
}

/* Products through the observing backend give the CPU's results bit for bit
 * and show the observer each input once; with emulate_f16 a matrix with an
 * input exponent e reads its input as f16(in / 2^e) * 2^e, so the CPU's
 * product of that rounded input is the reference. */
static void check_observing(const suite *s) {
    enum { M = 7, N = 13, K = 20, LD = 23, E = 3 };
    rng r = rng_for("observing");
    float *in = random_floats(&r, M * LD, 300.0f), *reads = xcalloc(M * LD, sizeof *reads);
    host_matrix m = matrix_new(&r, N, K, NT5_DTYPE_F32, -1);
    wmat w = matrix_adopt(s->cpu, &m, 0);
    w.input_exp = E; /* as an f16 file's matrix: its product's input is scaled by 2^-E */
    for (int emulate = 0; emulate <= 1; emulate++) {
        double magnitude = observed_reads(in, reads, M, LD, K, emulate, E);
        for (int relu = 0; relu <= 1; relu++) {
            seen_inputs seen = {0, 0, 0};
            product_observer obs = {count_input, &seen};
            backend *observed = NULL;
            double got[M * N], want[M * N];
            char label[96], why[320] = "";
            snprintf(label, sizeof label, "observing %s M=%d N=%d K=%d emulate_f16=%d", relu ? "linear_relu" : "linear",
                     M, N, K, emulate);
            nt5_status st = observing_backend_create(s->cpu, &obs, emulate, &observed);
            if (st == NT5_OK) st = product_on(observed, &w, in, M, N, K, LD, relu, got);
            if (st == NT5_OK) st = product_on(s->cpu, &w, reads, M, N, K, LD, relu, want);
            if (st != NT5_OK) snprintf(why, sizeof why, "%s: %s", nt5_status_name(st), nt5_last_error());
            else if (memcmp(got, want, sizeof got) != 0)
                snprintf(why, sizeof why, "differs from the CPU's product of what it should read");
            else if (seen.calls != 1 || seen.values != (size_t)M * K || seen.magnitude != magnitude)
                snprintf(why, sizeof why, "the observer saw %zu calls, %zu values, magnitude %g (want 1, %d, %g)",
                         seen.calls, seen.values, seen.magnitude, M * K, magnitude);
            print_case(s->cpu, label, why, "exact");
            if (observed) observed->ops->destroy(observed);
        }
    }
    matrix_release(s->cpu, &w);
    matrix_free(&m);
    free(in);
    free(reads);
}

/* ---- the CPU's refusals ---- */

/* The CPU computes in fp32: asked for a 16-bit product input or output, its
 * ops fail the call with an internal error naming the CPU, and write nothing.
 * (CPU-only: its buffers are host memory, so the test reads out directly.) */
static void check_cpu_refusals(const suite *s) {
    static const char *const what[] = {"rmsnorm out=bf16", "ffn_activation out=f16", "linear in=bf16",
                                       "linear_relu out=bf16", "attention out=bf16"};
    float in[4] = {1, 2, 3, 4}, ones[4] = {1, 1, 1, 1};
    rng r = rng_for("refusals");
    host_matrix m = matrix_new(&r, 1, 4, NT5_DTYPE_F32, -1);
    wmat w = matrix_adopt(s->cpu, &m, 0);
    for (int op = 0; op < 5; op++) {
        float out[4] = {0};
        attn_args a = {.out = out,
                       .q = in,
                       .k = in,
                       .v = in,
                       .ld_out = 4,
                       .ld_q = 4,
                       .ld_kv = 4,
                       .batch = 1,
                       .q_len = 1,
                       .kv_len = 1,
                       .kv_rows = 1,
                       .heads = 1,
                       .d_kv = 4,
                       .kv_group = 1,
                       .compute_dtype = NT5_DTYPE_F32,
                       .out_dtype = NT5_DTYPE_BF16,
                       .out_scale = 1.0f};
        call c;
        call_begin(&c, s->cpu);
        if (op == 0) op_rmsnorm(&c.x, out, NT5_DTYPE_BF16, in, ones, 1, 4, 1e-6f, 1.0f);
        if (op == 1) op_ffn_activation(&c.x, out, NT5_DTYPE_F16, 1.0f, in, 4, 1, 4, ACT_RELU, 0);
        if (op == 2) op_linear(&c.x, out, 4, in, NT5_DTYPE_BF16, 4, &w, 1, 1, 4, 0);
        if (op == 3) op_linear_relu(&c.x, out, NT5_DTYPE_BF16, 1.0f, in, NT5_DTYPE_F32, 4, &w, 1, 1, 4);
        if (op == 4) op_attention(&c.x, &a);
        nt5_status st = call_end(&c);
        char why[320] = "";
        if (st != NT5_ERR_INTERNAL || !strstr(nt5_last_error(), "CPU"))
            snprintf(why, sizeof why, "returned %s (%s), not NT5_ERR_INTERNAL naming the CPU", nt5_status_name(st),
                     nt5_last_error());
        else if (out[0] != 0 || out[1] != 0 || out[2] != 0 || out[3] != 0)
            snprintf(why, sizeof why, "refused, but wrote its output");
        print_case(s->cpu, what[op], why, "refused: NT5_ERR_INTERNAL");
    }
    matrix_release(s->cpu, &w);
    matrix_free(&m);
}

/* ---- row classes: batch invariance ---- */

/* out [rows, N] = in [rows, K] @ w^T with the call's products batch invariant */
static nt5_status invariant_product(backend *be, const wmat *w, const float *in, size_t rows, size_t N, size_t K,
                                    float *out) {
    call c;
    call_begin(&c, be);
    c.x.batch_invariant = 1;
    float *dev_in = call_upload(&c, in, rows * K), *dev_out = call_alloc(&c, rows * N);
    op_linear(&c.x, dev_out, N, dev_in, NT5_DTYPE_F32, K, w, rows, N, K, 0);
    op_download(&c.x, out, dev_out, rows * N);
    return call_end(&c);
}

/* backend.h row_classes: a row keeps its bits at any place of its class,
 * in a product of any number of blocks (here rows reversed within each
 * class across 5 blocks, then the first 2 blocks of those alone), the
 * products cut into a piece per thread. */
static void check_row_places(backend *be, const row_classes *rc) {
    char label[96], why[160] = "";
    snprintf(label, sizeof label, "row-classes block=%zu classes=%zu: rows moved within their class", rc->block,
             rc->count);
    const size_t blocks = 5, N = 70, K = 130, rows = blocks * rc->block;
    rng r = rng_for(label);
    host_matrix hm = matrix_new(&r, N, K, NT5_DTYPE_F32, -1);
    wmat w = matrix_adopt(be, &hm, 0);
    float *in = random_floats(&r, rows * K, 1.0f), *moved = xcalloc(rows * K, sizeof(float));
    float *ref = xcalloc(rows * N, sizeof(float)), *got = xcalloc(rows * N, sizeof(float));
    size_t *from = xcalloc(rows, sizeof *from), *places = xcalloc(rows, sizeof *places);
    for (size_t c = 0; c < rc->count; c++) { /* class c's places, reversed */
        size_t n = 0;
        for (size_t row = 0; row < rows; row++)
            if (rc->class_of[row % rc->block] == c) places[n++] = row;
        for (size_t i = 0; i < n; i++) from[places[i]] = places[n - 1 - i];
    }
    for (size_t row = 0; row < rows; row++) memcpy(moved + row * K, in + from[row] * K, K * sizeof(float));
    nt5_status st = invariant_product(be, &w, in, rows, N, K, ref);
    for (size_t part = 0; part < 2 && st == NT5_OK && !*why; part++) {
        size_t n = part ? 2 * rc->block : rows;
        st = invariant_product(be, &w, moved, n, N, K, got);
        for (size_t row = 0; st == NT5_OK && !*why && row < n; row++)
            if (memcmp(got + row * N, ref + from[row] * N, N * sizeof(float)) != 0)
                snprintf(why, sizeof why, "%zu rows: row %zu (place %zu) differs from row %zu (place %zu)", n, row,
                         row % rc->block, from[row], from[row] % rc->block);
    }
    if (st != NT5_OK) snprintf(why, sizeof why, "%s: %s", nt5_status_name(st), nt5_last_error());
    print_case(be, label, why, "bit for bit");
    matrix_release(be, &w);
    matrix_free(&hm);
    free(in);
    free(moved);
    free(ref);
    free(got);
    free(from);
    free(places);
}

/* forward/row_layout.h: each computed row of an input at a place of class
 * t mod count, no place twice, the pad id at free places, in as few blocks
 * as the classes need */
static void check_row_layout(const backend *be, const row_classes *rc) {
    enum { BATCH = 4, LEN = 29 };
    const size_t computed[BATCH] = {29, 1, 0, 16};
    int32_t ids[BATCH * LEN];
    for (size_t i = 0; i < BATCH * LEN; i++) ids[i] = 100 + (int32_t)i;
    char why[160] = "";
    row_layout l;
    nt5_status st = row_layout_make(rc, ids, BATCH, LEN, computed, 7, &l);
    if (st != NT5_OK) snprintf(why, sizeof why, "%s: %s", nt5_status_name(st), nt5_last_error());
    size_t per_class[ROW_CLASSES_MAX_BLOCK] = {0}, blocks = 1, per_block = rc->block / rc->count;
    for (size_t b = 0; b < BATCH; b++)
        for (size_t t = 0; t < computed[b]; t++) per_class[t % rc->count]++;
    for (size_t c = 0; c < rc->count; c++)
        if ((per_class[c] + per_block - 1) / per_block > blocks) blocks = (per_class[c] + per_block - 1) / per_block;
    if (!*why && (l.rows != blocks * rc->block || l.stride != (LEN + rc->block - 1) / rc->block * rc->block))
        snprintf(why, sizeof why, "%zu rows, stride %zu", l.rows, l.stride);
    char *used = xcalloc(l.rows ? l.rows : 1, 1);
    for (size_t b = 0; !*why && b < BATCH; b++)
        for (size_t t = 0; !*why && t < computed[b]; t++) {
            size_t at = b * l.stride + t, row = (size_t)l.product_row[at];
            if (row >= l.rows || used[row] || rc->class_of[row % rc->block] != t % rc->count ||
                l.ids[row] != ids[b * LEN + t] || (size_t)l.input_row[row] != at)
                snprintf(why, sizeof why, "input %zu row %zu at product row %zu", b, t, row);
            else used[row] = 1;
        }
    for (size_t row = 0; !*why && row < l.rows; row++)
        if (!used[row] && l.ids[row] != 7) snprintf(why, sizeof why, "free row %zu holds id %d", row, l.ids[row]);
    print_case(be, "row-layout: 4 inputs of 29, 1, 0 and 16 rows", why, "placed by class");
    free(used);
    row_layout_free(&l);
}

static void check_row_classes(const suite *s) {
    backend *targets[2] = {s->cpu, s->gpu};
    for (int t = 0; t < 2; t++) {
        const row_classes *rc = targets[t] ? backend_row_classes(targets[t]) : NULL;
        if (!rc) continue;
        check_row_places(targets[t], rc);
        check_row_layout(targets[t], rc);
    }
    CHECK(backend_row_classes(s->cpu) != NULL, "the CPU backend has row classes (its encoder is batch invariant)");
}

/* The CUDA module the build made (NT5_TEST_CUDA_MODULE) unless NT5_CUDA_MODULE
 * names one: meson's test environment cannot leave a caller's setting alone
 * (CI's valgrind run points it at no module: the CUDA runtime is not ours to check). */
static void use_built_cuda_module(void) {
    const char *built = getenv("NT5_TEST_CUDA_MODULE");
    if (built && *built) setenv("NT5_CUDA_MODULE", built, 0);
}

/* ---- the CPU pool and its pieces ---- */

/* A few-row product's shrinking pieces tile [0, total) in order: sizes a
 * multiple of align but the last, none under `least` but the last, the
 * threads' first ones each about a (2 * threads)-th; one piece for one thread. */
static void check_shrinking_pieces(void) {
    static const size_t cases[][4] = {/* total, threads, least, align */
                                      {512, 2, 32, 4},  {32128, 2, 31, 4}, {1152, 2, 8, 4}, {7, 2, 8, 4},
                                      {1, 4, 8, 4},     {2048, 3, 16, 4},  {130, 8, 1, 1},  {100, 1, 8, 4},
                                      {384, 2, 100, 4}, {0, 2, 8, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t total = cases[c][0], threads = cases[c][1], least = cases[c][2], align = cases[c][3];
        size_t n = cpu_shrinking_count(total, threads, least, align), at = 0, bad = 0, first = 0;
        for (size_t p = 0; p < n; p++) {
            size_t b, e;
            cpu_shrinking_range(total, threads, least, align, p, &b, &e);
            int last = e == total;
            bad += b != at || e < b || (e == b && total) || (!last && ((e - b) % align || e - b < least));
            if (p == 0) first = e - b;
            at = e;
        }
        int one = threads < 2 ? n == 1 : first <= (total + 2 * threads - 1) / (2 * threads) + align + least;
        CHECK(!bad && at == total && one,
              "shrinking pieces of %zu (threads %zu, least %zu, align %zu): %zu pieces, "
              "%zu bad, end %zu, first %zu",
              total, threads, least, align, n, bad, at, first);
    }
}

#define POOL_TASKS 97
#define POOL_SLOTS 4

/* what a pool task records: how often each task ran, and that no two
 * threads on one job held the same slot at once */
typedef struct pool_probe {
    atomic_int runs[POOL_TASKS];
    atomic_int in_slot[POOL_SLOTS];
    atomic_int clashes, slot_out_of_range;
    size_t slots;
    int slow; /* each task sleeps 1 ms: a poster then sleeps too, waiting for the others */
} pool_probe;

static void pool_probe_task(void *ctx, size_t task, size_t slot) {
    pool_probe *p = ctx;
    if (slot >= p->slots) {
        atomic_fetch_add(&p->slot_out_of_range, 1);
        return;
    }
    if (atomic_fetch_add(&p->in_slot[slot], 1) != 0) atomic_fetch_add(&p->clashes, 1);
    atomic_fetch_add(&p->runs[task], 1);
    for (volatile int spin = 0; spin < (int)(task % 7) * 200; spin++) {
    }
    if (p->slow) nanosleep(&(struct timespec){0, 1000000}, NULL);
    atomic_fetch_sub(&p->in_slot[slot], 1);
}

typedef struct pool_poster {
    cpu_pool *pool;
    int limit, jobs, failed;
} pool_poster;

/* posts `jobs` jobs of 1 .. POOL_TASKS tasks, now and then after a pause and
 * slow; counts those whose tasks did not each run once on a slot of their own */
static void *post_jobs(void *arg) {
    pool_poster *ps = arg;
    for (int j = 0; j < ps->jobs; j++) {
        pool_probe *p = calloc(1, sizeof *p);
        if (!p) {
            ps->failed++;
            continue;
        }
        size_t ntasks = 1 + (size_t)j * 31 % POOL_TASKS;
        p->slots = (size_t)pool_threads_for(ps->pool, ps->limit);
        if (j % 50 == 49) { /* idle long enough for the workers to fall asleep, then a slow job */
            nanosleep(&(struct timespec){0, 5000000}, NULL);
            p->slow = 1;
            ntasks = 6;
        }
        pool_run(ps->pool, ps->limit, ntasks, pool_probe_task, p);
        int ok = !atomic_load(&p->clashes) && !atomic_load(&p->slot_out_of_range);
        for (size_t t = 0; t < POOL_TASKS; t++) ok &= atomic_load(&p->runs[t]) == (t < ntasks);
        ps->failed += !ok;
        free(p);
    }
    return NULL;
}

/* The pool runs every task of a job once, on slots unique among the
 * threads at work on it, for one poster and for several at once (with and
 * without a thread limit), and stops cleanly. */
static void check_pool(void) {
    cpu_pool *pool = NULL;
    CHECK_STATUS(pool_create(POOL_SLOTS, &pool), NT5_OK);
    if (!pool) return;
    pool_poster alone = {pool, 0, 300, 0};
    post_jobs(&alone);
    CHECK(alone.failed == 0, "pool: %d of %d jobs of one poster ran wrong", alone.failed, alone.jobs);
    pool_poster many[3] = {{pool, 0, 200, 0}, {pool, 2, 200, 0}, {pool, 1, 200, 0}};
    pthread_t tid[3];
    int started = 0;
    for (int i = 0; i < 3; i++) started += pthread_create(&tid[i], NULL, post_jobs, &many[i]) == 0;
    CHECK(started == 3, "pool: %d of 3 posting threads started", started);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    for (int i = 0; i < started; i++)
        CHECK(many[i].failed == 0, "pool: %d of %d jobs of poster %d (limit %d) ran wrong", many[i].failed,
              many[i].jobs, i, many[i].limit);
    pool_destroy(pool);
}

static void check_cpu_pool(const suite *s) {
    (void)s;
    check_shrinking_pieces();
    check_pool();
}

/* the op families, by the name a command line may give to run only those */
static const struct {
    const char *name;
    void (*check)(const suite *s);
} families[] = {{"round-trips", check_round_trips},   {"embed", check_embed},
                {"rmsnorm", check_rmsnorm},           {"linear", check_linear},
                {"linear-relu", check_linear_relu},   {"activations", check_activations},
                {"attention", check_attention},       {"picks", check_picks},
                {"cache-ops", check_cache_ops},       {"store", check_store},
                {"nan-inputs", check_nan_inputs},     {"observing", check_observing},
                {"cpu-refusals", check_cpu_refusals}, {"row-classes", check_row_classes},
                {"cpu-pool", check_cpu_pool}};

static int named(const char *name, int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return argc < 2;
}

/* usage: test_backend_ops [FAMILY...] (all when none is named) */
int main(int argc, char **argv) {
    suite s = {NULL, NULL};
    nt5_status st = cpu_backend_create(2, &s.cpu);
    if (st != NT5_OK) {
        CHECK_STATUS(st, NT5_OK);
        return harness_finish("backend-ops");
    }
    use_built_cuda_module();
    st = cuda_backend_create(0, 0, &s.gpu);
    if (st != NT5_OK) {
        printf("cuda backend not available, its cases not run: %s: %s\n", nt5_status_name(st), nt5_last_error());
        s.gpu = NULL;
    }
    for (int i = 1; i < argc; i++) {
        size_t f = 0;
        while (f < sizeof families / sizeof *families && strcmp(families[f].name, argv[i]) != 0) f++;
        CHECK(f < sizeof families / sizeof *families, "no op family named %s", argv[i]);
    }
    for (size_t f = 0; f < sizeof families / sizeof *families; f++)
        if (named(families[f].name, argc, argv)) families[f].check(&s);
    if (s.gpu) s.gpu->ops->destroy(s.gpu);
    s.cpu->ops->destroy(s.cpu);
    return harness_finish("backend-ops");
}
