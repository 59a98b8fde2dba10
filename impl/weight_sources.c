/* Weight sources: tensors of a safetensors checkpoint, or seeded random values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "half.h"
#include "weights.h"

static int ckpt_has(void *self, const char *name) { return ckpt_find(self, name) != NULL; }

static nt5_status ckpt_fill(void *self, const char *name, int64_t rows, int64_t cols, float *dst) {
    const st_tensor *t = ckpt_find(self, name);
    if (!t) return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" is missing from the checkpoint", name);
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
    int dtype;
    switch (t->dtype) {
    case ST_F32: dtype = NT5_DTYPE_F32; break;
    case ST_F16: dtype = NT5_DTYPE_F16; break;
    case ST_BF16: dtype = NT5_DTYPE_BF16; break;
    default:
        return err_set(NT5_ERR_FORMAT, "tensor \"%s\" has dtype %s; nt5 reads F32, F16 and BF16 weights", name,
                       t->dtype_name);
    }
    half_to_f32(dst, t->data, (size_t)rows * (size_t)(cols ? cols : 1), dtype);
    return NT5_OK;
}

weight_source checkpoint_source(struct checkpoint *ck) {
    return (weight_source){.self = ck, .has = ckpt_has, .fill = ckpt_fill};
}

/* A random model has every tensor. */
static int random_has(void *self, const char *name) {
    (void)self;
    (void)name;
    return 1;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform values with the standard deviation of a trained model's tensor of
 * this kind: norm scales near 1, matrices scaled by 1/sqrt(fan_in). */
static nt5_status random_fill(void *self, const char *name, int64_t rows, int64_t cols, float *dst) {
    const random_source_state *rs = self;
    uint64_t state = rs->seed;
    for (const char *p = name; *p; p++) state = (state ^ (uint8_t)*p) * 0x100000001b3ull;
    size_t n = (size_t)rows * (size_t)(cols ? cols : 1);
    float center = 0, std;
    if (!cols) {
        center = 1.0f;
        std = 0.05f;
    } else if (strstr(name, "relative_attention_bias")) {
        std = 0.5f;
    } else if (strcmp(name, "shared.weight") == 0) {
        std = 1.0f;
    } else {
        std = 1.0f / sqrtf((float)cols);
    }
    float half_width = std * 1.7320508f;
    for (size_t i = 0; i < n; i++) {
        float u = (float)(splitmix64(&state) >> 40) * (1.0f / 16777216.0f);
        dst[i] = center + (2.0f * u - 1.0f) * half_width;
    }
    return NT5_OK;
}

weight_source random_source(random_source_state *state) {
    return (weight_source){.self = state, .has = random_has, .fill = random_fill};
}
