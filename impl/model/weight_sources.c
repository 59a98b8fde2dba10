/* Weight sources: a Hugging Face checkpoint (tensors fused as nt5 stores
 * them), an nt5 file, or seeded random values. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format/checkpoint.h"
#include "base/error.h"
#include "base/half.h"
#include "base/json_file.h"
#include "format/weight_names.h"
#include "model/weights.h"

/* Checks a stored tensor's shape and dtype against [rows, cols]. */
static nt5_status check_tensor(const st_tensor *t, const char *name, int64_t rows, int64_t cols) {
    int want_dims = cols ? 2 : 1;
    if (t->ndim != want_dims || t->shape[0] != rows || (cols && t->shape[1] != cols)) {
        char got[96] = "";
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        if (cols)
            return err_set(NT5_ERR_FORMAT, "tensor \"%s\" has shape [%s] but the config needs [%lld, %lld]", name, got,
                           (long long)rows, (long long)cols);
        return err_set(NT5_ERR_FORMAT, "tensor \"%s\" has shape [%s] but the config needs [%lld]", name, got,
                       (long long)rows);
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return err_set(NT5_ERR_FORMAT, "tensor \"%s\" has dtype %s; nt5 reads F32, F16 and BF16 weights", name,
                       t->dtype_name);
    return NT5_OK;
}

/* Checks a stored tensor and converts it to floats, times 2^exp. */
static nt5_status read_tensor(const st_tensor *t, const char *name, int64_t rows, int64_t cols, int exp, float *dst) {
    nt5_status st = check_tensor(t, name, rows, cols);
    if (st != NT5_OK) return st;
    int dtype = t->dtype == ST_F16 ? NT5_DTYPE_F16 : t->dtype == ST_BF16 ? NT5_DTYPE_BF16 : NT5_DTYPE_F32;
    half_to_f32_scaled(dst, t->data, (size_t)rows * (size_t)(cols ? cols : 1), dtype, exp);
    return NT5_OK;
}

/* ---- Hugging Face checkpoints ---- */

/* The HF tensors of an nt5 tensor; the shared embedding goes by three names. */
static int find_parts(const checkpoint_source_state *s, const char *nt5_name, const st_tensor *found[HF_PARTS_MAX],
                      char names[HF_PARTS_MAX][HF_NAME_MAX]) {
    int n = hf_parts(s->cfg, nt5_name, names);
    if (strcmp(nt5_name, "shared") == 0) {
        static const char *const aliases[] = {"shared.weight", "encoder.embed_tokens.weight",
                                              "decoder.embed_tokens.weight"};
        for (int i = 0; i < 3; i++) {
            if ((found[0] = ckpt_find(s->ck, aliases[i]))) {
                snprintf(names[0], HF_NAME_MAX, "%s", aliases[i]);
                return 1;
            }
        }
    }
    for (int i = 0; i < n; i++) found[i] = ckpt_find(s->ck, names[i]);
    return n;
}

static int ckpt_has(void *self, const char *nt5_name) {
    const st_tensor *found[HF_PARTS_MAX];
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    int n = find_parts(self, nt5_name, found, names);
    for (int i = 0; i < n; i++)
        if (!found[i]) return 0;
    return n > 0;
}

static int32_t dtype_of(const st_tensor *t) {
    return !t ? NT5_DTYPE_F32 : t->dtype == ST_BF16 ? NT5_DTYPE_BF16 : t->dtype == ST_F16 ? NT5_DTYPE_F16 : NT5_DTYPE_F32;
}

static int32_t no_input_exp(void *self, const char *nt5_name) {
    (void)self;
    (void)nt5_name;
    return -1;
}

static int32_t ckpt_stored_dtype(void *self) {
    const st_tensor *found[HF_PARTS_MAX] = {NULL};
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    find_parts(self, "shared", found, names);
    return dtype_of(found[0]);
}

/* The HF parts of an nt5 tensor, read into dst (or only checked when dst is NULL). */
static nt5_status ckpt_parts(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst) {
    const st_tensor *found[HF_PARTS_MAX];
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    int n = find_parts(self, nt5_name, found, names);
    if (n == 0) return err_set(NT5_ERR_INTERNAL, "no Hugging Face name for tensor \"%s\"", nt5_name);
    size_t part_rows = (size_t)rows / (size_t)n, width = cols ? (size_t)cols : 1;
    for (int i = 0; i < n; i++) {
        if (!found[i]) return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" is missing from the checkpoint", names[i]);
        nt5_status st = dst ? read_tensor(found[i], names[i], (int64_t)part_rows, cols, 0, dst + (size_t)i * part_rows * width)
                            : check_tensor(found[i], names[i], (int64_t)part_rows, cols);
        if (st != NT5_OK) return st;
    }
    return NT5_OK;
}

static nt5_status ckpt_check(void *self, const char *nt5_name, int64_t rows, int64_t cols) {
    return ckpt_parts(self, nt5_name, rows, cols, NULL);
}

static nt5_status ckpt_fill(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst) {
    return ckpt_parts(self, nt5_name, rows, cols, dst);
}

weight_source checkpoint_source(checkpoint_source_state *state) {
    return (weight_source){
        .self = state, .has = ckpt_has, .stored_dtype = ckpt_stored_dtype, .check = ckpt_check,
        .input_exp = no_input_exp, .fill = ckpt_fill};
}

/* ---- nt5 files ---- */

/* An integer field of an f16_scales entry in [lo, hi], or `absent`. */
static int scale_field(const cJSON *entry, const char *field, int lo, int hi, int absent, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, field);
    *out = absent;
    if (!v) return 1;
    if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble || v->valuedouble < lo || v->valuedouble > hi)
        return 0;
    *out = (int)v->valuedouble;
    return 1;
}

/* f16_scales: every entry an object with a weight_exp in [-64, 64] and, if
 * any, an input_exp in [0, 64]. */
nt5_status nt5_file_source_open(nt5_file_source_state *s) {
    const char *text = st_metadata(s->file, "f16_scales");
    s->scales = NULL;
    if (!text) return NT5_OK;
    nt5_status st = json_parse_object(text, strlen(text), s->file->path, &s->scales);
    const cJSON *e, *all = st == NT5_OK ? s->scales : NULL;
    cJSON_ArrayForEach(e, all) {
        int w, in;
        if (!cJSON_IsObject(e) || !cJSON_GetObjectItemCaseSensitive(e, "weight_exp") ||
            !scale_field(e, "weight_exp", -64, 64, 0, &w) || !scale_field(e, "input_exp", 0, 64, -1, &in)) {
            st = err_set(NT5_ERR_FORMAT, "%s: f16_scales[\"%s\"] has no valid weight_exp and input_exp", s->file->path,
                         e->string ? e->string : "?");
            break;
        }
    }
    if (st != NT5_OK) nt5_file_source_close(s);
    return st;
}

void nt5_file_source_close(nt5_file_source_state *s) {
    cJSON_Delete(s->scales);
    s->scales = NULL;
}

static int nt5_file_has(void *self, const char *nt5_name) {
    const nt5_file_source_state *s = self;
    return st_find(s->file, nt5_name) != NULL;
}

static int32_t nt5_file_stored_dtype(void *self) {
    const nt5_file_source_state *s = self;
    return dtype_of(st_find(s->file, "shared"));
}

static int32_t nt5_file_input_exp(void *self, const char *nt5_name) {
    const nt5_file_source_state *s = self;
    int in = -1;
    scale_field(cJSON_GetObjectItemCaseSensitive(s->scales, nt5_name), "input_exp", 0, 64, -1, &in);
    return in;
}

static nt5_status nt5_file_check(void *self, const char *nt5_name, int64_t rows, int64_t cols) {
    const nt5_file_source_state *s = self;
    const st_tensor *t = st_find(s->file, nt5_name);
    if (!t) return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" is missing from the nt5 file", nt5_name);
    return check_tensor(t, nt5_name, rows, cols);
}

static nt5_status nt5_file_fill(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst) {
    const nt5_file_source_state *s = self;
    const st_tensor *t = st_find(s->file, nt5_name);
    if (!t) return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" is missing from the nt5 file", nt5_name);
    int exp = 0; /* stored = value * 2^-weight_exp for F16 matrices with an entry */
    if (t->dtype == ST_F16)
        scale_field(cJSON_GetObjectItemCaseSensitive(s->scales, nt5_name), "weight_exp", -64, 64, 0, &exp);
    return read_tensor(t, nt5_name, rows, cols, exp, dst);
}

weight_source nt5_file_source(nt5_file_source_state *state) {
    return (weight_source){.self = state,
                           .has = nt5_file_has,
                           .stored_dtype = nt5_file_stored_dtype,
                           .check = nt5_file_check,
                           .input_exp = nt5_file_input_exp,
                           .fill = nt5_file_fill};
}

/* ---- random weights ---- */

/* A random model has every tensor. */
static int random_has(void *self, const char *name) {
    (void)self;
    (void)name;
    return 1;
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

weight_source random_source(random_source_state *state) {
    return (weight_source){
        .self = state, .has = random_has, .stored_dtype = random_stored_dtype, .check = random_check,
        .input_exp = no_input_exp, .fill = random_fill};
}
