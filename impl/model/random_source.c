/* Seeded random weights as a weight source (nt5_model_open_random). */
#include "model/random_source.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A random model has every tensor. */
static int random_has(void *self, const char *name) {
    (void)self;
    (void)name;
    return 1;
}

static int32_t no_input_exp(void *self, const char *nt5_name) {
    (void)self;
    (void)nt5_name;
    return -1;
}

static int32_t random_stored_dtype(void *self) {
    (void)self;
    return NT5_DTYPE_F32;
}

static nt5_status random_check(void *self, const char *name, int64_t rows, int64_t cols) {
    (void)self;
    (void)name;
    (void)rows;
    (void)cols;
    return NT5_OK;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Whether `name` is a matrix whose first `inner` rows are queries. */
static int has_query_rows(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".qkv") == 0 || strcmp(dot, ".cross_q") == 0);
}

/* Uniform values with the standard deviation of a trained model's tensor of
 * this kind: norm scales near 1, matrices scaled by 1/sqrt(fan_in), query
 * rows by 1/sqrt(fan_in * d_kv) as T5 initialises them (T5 does not scale
 * its attention scores, so queries carry the 1/sqrt(d_kv): without it the
 * scores' spread makes every softmax nearly one-hot). */
static nt5_status random_fill(void *self, const char *name, int64_t rows, int64_t cols, float *dst) {
    const random_source_state *rs = self;
    uint64_t state = rs->seed;
    for (const char *p = name; *p; p++) state = (state ^ (uint8_t)*p) * 0x100000001b3ull;
    size_t n = (size_t)rows * (size_t)(cols ? cols : 1);
    float center = 0, std;
    if (!cols) {
        center = 1.0f;
        std = 0.05f;
    } else if (strstr(name, "bias")) {
        std = 0.5f;
    } else if (strcmp(name, "shared") == 0) {
        std = 1.0f;
    } else {
        std = 1.0f / sqrtf((float)cols);
    }
    size_t query_values = cols && has_query_rows(name) ? (size_t)rs->inner * (size_t)cols : 0;
    float query_shrink = 1.0f / sqrtf((float)(rs->d_kv > 0 ? rs->d_kv : 1));
    for (size_t i = 0; i < n; i++) {
        float u = (float)(splitmix64(&state) >> 40) * (1.0f / 16777216.0f);
        float half_width = std * 1.7320508f * (i < query_values ? query_shrink : 1.0f);
        dst[i] = center + (2.0f * u - 1.0f) * half_width;
    }
    return NT5_OK;
}

static void random_describe(void *self, char *out, size_t cap) {
    (void)self;
    snprintf(out, cap, "random");
}

weight_source random_source(random_source_state *state) {
    return (weight_source){.self = state,
                           .has = random_has,
                           .stored_dtype = random_stored_dtype,
                           .check = random_check,
                           .input_exp = no_input_exp,
                           .fill = random_fill,
                           .describe = random_describe};
}
