/* A Hugging Face checkpoint as a weight source: nt5 tensors assembled from
 * the (fused) HF tensors they are made of. */
#include "model/checkpoint_source.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "format/tensor_values.h"
#include "format/weight_names.h"

/* The HF tensors of an nt5 tensor; the shared embedding goes by three names. */
static int find_parts(const checkpoint_source_state *s, const char *nt5_name, const st_tensor *found[HF_PARTS_MAX],
                      char names[HF_PARTS_MAX][HF_NAME_MAX]) {
    int n = hf_parts(s->cfg->gated, nt5_name, names);
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

static int32_t no_input_exp(void *self, const char *nt5_name) {
    (void)self;
    (void)nt5_name;
    return -1;
}

static int32_t ckpt_stored_dtype(void *self) {
    const st_tensor *found[HF_PARTS_MAX] = {NULL};
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    find_parts(self, "shared", found, names);
    return tensor_dtype(found[0]);
}

/* The scale of an fp8 weight `name` ("<layer>.weight"): its "<layer>.scale_weight"
 * (ComfyUI's scaled fp8) or "<layer>.weight_scale" (its newer format), an F32
 * scalar; 1 without one, which a file marked "scaled_fp8" must have. */
static nt5_status fp8_scale(const checkpoint *ck, const char *name, float *scale) {
    static const char *const suffixes[] = {"scale_weight", "weight_scale"};
    size_t n = strlen(name);
    *scale = 1.0f;
    if (n < 7 || strcmp(name + n - 7, ".weight") != 0) return NT5_OK;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char scale_name[HF_NAME_MAX + 16];
        snprintf(scale_name, sizeof scale_name, "%.*s.%s", (int)(n - 7), name, suffixes[i]);
        const st_tensor *t = ckpt_find(ck, scale_name);
        if (!t) continue;
        if (t->dtype != ST_F32 || t->nbytes != sizeof(float))
            return err_set(NT5_ERR_FORMAT, "tensor \"%s\" is not one F32 value (%s, %zu bytes)", scale_name,
                           t->dtype_name, t->nbytes);
        memcpy(scale, t->data, sizeof *scale);
        if (!isfinite(*scale)) return err_set(NT5_ERR_FORMAT, "tensor \"%s\" is %g", scale_name, (double)*scale);
        return NT5_OK;
    }
    if (ckpt_find(ck, "scaled_fp8"))
        return err_set(NT5_ERR_FORMAT,
                       "the checkpoint is scaled fp8 (it has a scaled_fp8 tensor) but \"%s\" has no "
                       "scale_weight",
                       name);
    return NT5_OK;
}

/* A part's values: fp8 weights times their scale (exact as fp32 products). */
static nt5_status read_part(const checkpoint *ck, const st_tensor *t, const char *name, int64_t rows, int64_t cols,
                            float *dst) {
    nt5_status st = tensor_read(t, name, rows, cols, 0, dst);
    if (st != NT5_OK || (t->dtype != ST_F8_E4M3 && t->dtype != ST_F8_E5M2)) return st;
    float scale;
    if ((st = fp8_scale(ck, name, &scale)) != NT5_OK || scale == 1.0f) return st;
    for (size_t i = 0, n = (size_t)rows * (size_t)(cols ? cols : 1); i < n; i++) dst[i] *= scale;
    return NT5_OK;
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
        const checkpoint_source_state *s = self;
        nt5_status st = dst ? read_part(s->ck, found[i], names[i], (int64_t)part_rows, cols,
                                        dst + (size_t)i * part_rows * width)
                            : tensor_check(found[i], names[i], (int64_t)part_rows, cols);
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
    return (weight_source){.self = state,
                           .has = ckpt_has,
                           .stored_dtype = ckpt_stored_dtype,
                           .check = ckpt_check,
                           .input_exp = no_input_exp,
                           .fill = ckpt_fill};
}
