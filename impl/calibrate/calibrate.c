#include "calibrate/calibrate.h"

#include <math.h>
#include <stdlib.h>

#include "backend/observing.h"
#include "base/error.h"
#include "forward/encode.h"
#include "generate/gen_options.h"
#include "generate/generate.h"
#include "model/inputs.h"

const char *const calibration_default_texts[] = {
    "translate English to German: The house is wonderful and the garden is full of flowers.",
    "summarize: The city council met on Tuesday to discuss the new budget. After a long debate, the members "
    "agreed to spend more on schools and public transport, while cutting the costs of administration.",
    "Answer the following question. What is the boiling point of water at sea level in degrees Celsius?",
    "Please write a short story about a robot who learns to paint, in three sentences.",
    "A photograph of an astronaut riding a horse on the moon, highly detailed, 8k, cinematic lighting.",
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "Q: If a train travels 120 km in 1.5 hours, what is its average speed? A: Let's think step by step.",
    "translate English to French: Numbers such as 3.14159, 2026 and 1,000,000 must stay as they are.",
    "Die Katze sitzt auf dem Sofa und schaut aus dem Fenster.",
    "El rápido zorro marrón salta sobre el perro perezoso.",
    "東京は日本の首都であり、世界で最も人口の多い都市の一つです。",
    "Москва — столица России, крупнейший по численности населения город страны.",
};
const size_t calibration_default_count = sizeof calibration_default_texts / sizeof calibration_default_texts[0];

typedef struct ranges {
    product_range *r; /* [count], by tensor index */
    size_t count;
    long seen;
} ranges;

static void record_range(void *user, const wmat *w, const float *in, size_t ld_in, size_t rows, size_t cols) {
    ranges *rs = user;
    if (w->index < 0 || (size_t)w->index >= rs->count) return;
    product_range *p = &rs->r[w->index];
    if (p->order < 0) p->order = rs->seen++;
    for (size_t i = 0; i < rows; i++)
        for (size_t k = 0; k < cols; k++) {
            float v = in[i * ld_in + k];
            if (!isfinite(v)) p->non_finite = 1;
            else p->absmax = fmaxf(p->absmax, fabsf(v));
        }
}

/* One prompt on be: encoded, then decoded greedily when the model can, as
 * nt5_encode_texts and nt5_generate_texts do with their default options. */
static nt5_status run_prompt(const nt5_model *m, const backend *be, const char *text) {
    input_spec spec = {.texts = &text, .batch = 1};
    batch_input in;
    nt5_status st = inputs_prepare(m, &spec, 0, 1, 0, &in);
    if (st != NT5_OK) return st;
    if (m->has_decoder) {
        nt5_generate_options o = gen_default_options;
        o.max_new_tokens = CALIBRATION_NEW_TOKENS;
        gen_sequence seq = {0};
        st = generate_run(m, be, &o, &in, &seq);
        free(seq.ids);
    } else {
        float *hidden = malloc(in.batch * in.len * (size_t)m->cfg.d_model * sizeof *hidden); /* [1, len, d_model] */
        encode_output out = {.dst = hidden, .dtype = NT5_DTYPE_F32};
        st = hidden ? encode_run(m, be, &in, &out) : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        free(hidden);
    }
    inputs_free(&in);
    return st;
}

/* Each prompt through the model with its products observed by obs (with
 * emulate_f16: rounded to f16 first, backend/observing.h). m must be on the
 * CPU and have a tokenizer. progress (may be NULL) is called with `what`,
 * prompts done, prompts in all; nonzero cancels. */
static nt5_status probe_run(const nt5_model *m, const char *const *texts, size_t count, const product_observer *obs,
                            int emulate_f16, const char *what, nt5_progress_callback progress, void *user_data) {
    if (!m->tok)
        return err_set(
            NT5_ERR_UNSUPPORTED,
            "%s runs the model on text, and this model has no tokenizer: give one (the tokenizer option, nt5 --tokenizer)",
            what);
    if (m->be->ops->device != NT5_DEVICE_CPU) return err_set(NT5_ERR_UNSUPPORTED, "%s runs on the CPU", what);
    if (count == 0) return err_set(NT5_ERR_INVALID_ARG, "no texts for %s", what);
    for (size_t i = 0; i < count; i++)
        if (!texts[i]) return err_set(NT5_ERR_INVALID_ARG, "text %zu is NULL", i);
    backend *observed = NULL;
    nt5_status st = observing_backend_create(m->be, obs, emulate_f16, &observed);
    for (size_t i = 0; i < count && st == NT5_OK; i++) {
        st = run_prompt(m, observed, texts[i]);
        if (st == NT5_OK && progress && progress(what, i + 1, count, user_data))
            st = err_set(NT5_ERR_CANCELLED, "%s cancelled by the progress callback", what);
    }
    if (observed) observed->ops->destroy(observed);
    return st == NT5_OK ? st : err_wrap(st, "%s", what);
}

nt5_status probe_ranges(const nt5_model *m, const char *const *texts, size_t count, int emulate_f16, const char *what,
                        nt5_progress_callback progress, void *user_data, product_range **out, long *seen) {
    *out = NULL;
    ranges rs = {malloc(m->w.n_tensors * sizeof *rs.r + 1), m->w.n_tensors, 0};
    if (!rs.r) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < rs.count; i++) rs.r[i] = (product_range){0, 0, -1};
    product_observer obs = {record_range, &rs};
    nt5_status st = probe_run(m, texts, count, &obs, emulate_f16, what, progress, user_data);
    if (st != NT5_OK) {
        free(rs.r);
        return st;
    }
    *out = rs.r;
    *seen = rs.seen;
    return NT5_OK;
}

nt5_status calibrate(const nt5_model *m, const char *const *texts, size_t count, nt5_progress_callback progress,
                     void *user_data, float **absmax) {
    product_range *r = NULL;
    long seen = 0;
    *absmax = NULL;
    nt5_status st = probe_ranges(m, texts, count, 0, "calibrating", progress, user_data, &r, &seen);
    float *max = st == NT5_OK ? malloc(m->w.n_tensors * sizeof *max + 1) : NULL;
    if (st == NT5_OK && !max) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; st == NT5_OK && i < m->w.n_tensors; i++)
        max[i] = r[i].order < 0 ? -1.0f : r[i].non_finite ? INFINITY : r[i].absmax;
    free(r);
    if (st != NT5_OK) {
        free(max);
        return st;
    }
    *absmax = max;
    return NT5_OK;
}
