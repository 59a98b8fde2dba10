#include "calibrate.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

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

typedef struct maxima {
    float *absmax; /* [count] */
    size_t count;
} maxima;

static void record_input(void *user, const wmat *w, const float *in, size_t ld_in, size_t rows, size_t cols) {
    maxima *mx = user;
    if (w->index < 0 || (size_t)w->index >= mx->count) return;
    float top = mx->absmax[w->index];
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++) top = fmaxf(top, fabsf(in[r * ld_in + k]));
    mx->absmax[w->index] = top;
}

/* One prompt: encoded, then decoded greedily when the model can. */
static nt5_status run_prompt(const nt5_model *m, const char *text) {
    if (m->has_decoder) {
        nt5_generate_options o;
        nt5_generate_options_init(&o, sizeof o);
        o.max_new_tokens = CALIBRATION_NEW_TOKENS;
        nt5_generation *gen = NULL;
        nt5_status st = nt5_generate_texts(m, &text, 1, &o, &gen);
        nt5_generation_free(gen);
        return st;
    }
    nt5_encode_options o;
    nt5_encode_options_init(&o, sizeof o);
    nt5_embeddings *emb = NULL;
    nt5_status st = nt5_encode_texts(m, &text, 1, &o, &emb);
    nt5_embeddings_free(emb);
    return st;
}

nt5_status probe_run(const nt5_model *m, const char *const *texts, size_t count, const call_hooks *hooks,
                     const char *what, nt5_progress_callback progress, void *user_data) {
    if (!m->tok)
        return err_set(NT5_ERR_UNSUPPORTED, "%s runs the model on text, and this model has no tokenizer (spiece.model)",
                       what);
    if (m->be->ops->device != NT5_DEVICE_CPU) return err_set(NT5_ERR_UNSUPPORTED, "%s runs on the CPU", what);
    if (count == 0) return err_set(NT5_ERR_INVALID_ARG, "no texts for %s", what);
    nt5_status st = NT5_OK;
    for (size_t i = 0; i < count && st == NT5_OK; i++) {
        if (!texts[i]) return err_set(NT5_ERR_INVALID_ARG, "text %zu is NULL", i);
        call_hooks_set(hooks);
        st = run_prompt(m, texts[i]);
        call_hooks_set(NULL);
        if (st == NT5_OK && progress && progress(what, i + 1, count, user_data))
            st = err_set(NT5_ERR_CANCELLED, "%s cancelled by the progress callback", what);
    }
    return st == NT5_OK ? st : err_wrap(st, "%s", what);
}

nt5_status calibrate(const nt5_model *m, const char *const *texts, size_t count, nt5_progress_callback progress,
                     void *user_data, float **absmax) {
    *absmax = NULL;
    maxima mx = {malloc(m->w.n_tensors * sizeof(float) + 1), m->w.n_tensors};
    if (!mx.absmax) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < mx.count; i++) mx.absmax[i] = -1.0f;
    linear_observer obs = {record_input, &mx};
    call_hooks hooks = {&obs, 0};
    nt5_status st = probe_run(m, texts, count, &hooks, "calibrating", progress, user_data);
    if (st != NT5_OK) {
        free(mx.absmax);
        return st;
    }
    *absmax = mx.absmax;
    return NT5_OK;
}
