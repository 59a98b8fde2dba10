/* A Hugging Face checkpoint as a weight source (parts_source.h). */
#include "model/checkpoint_source.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "format/dtype_tally.h"
#include "format/tensor_values.h"
#include "format/weight_names.h"

static const void *ckpt_find_part(void *self, const char *hf) {
    const checkpoint_source_state *s = self;
    return ckpt_find(s->ck, hf);
}

static nt5_status ckpt_missing(void *self, const char *hf) {
    const checkpoint_source_state *s = self;
    return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s%s\" is missing from the checkpoint", s->ck->prefix, hf);
}

/* the embedding's dtype, by any of its names */
static int32_t ckpt_stored_dtype(void *self) {
    const checkpoint_source_state *s = self;
    const st_tensor *t = ckpt_find(s->ck, "shared.weight");
    if (!t) t = ckpt_find(s->ck, "encoder.embed_tokens.weight");
    return tensor_dtype(t);
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

/* A part checked, and read unless dst is NULL: fp8 weights times their scale (exact as fp32 products). */
static nt5_status ckpt_read_part(void *self, const void *part, const char *name, int64_t rows, int64_t cols,
                                 float *dst) {
    const checkpoint_source_state *s = self;
    const st_tensor *t = part;
    if (!dst) return tensor_check(t, name, rows, cols);
    nt5_status st = tensor_read(t, name, rows, cols, 0, dst);
    if (st != NT5_OK || (t->dtype != ST_F8_E4M3 && t->dtype != ST_F8_E5M2)) return st;
    float scale;
    if ((st = fp8_scale(s->ck, name, &scale)) != NT5_OK || scale == 1.0f) return st;
    for (size_t i = 0, n = (size_t)rows * (size_t)(cols ? cols : 1); i < n; i++) dst[i] *= scale;
    return NT5_OK;
}

/* The dtypes of the tensors under the checkpoint's prefix. */
static void ckpt_describe(void *self, char *out, size_t cap) {
    const checkpoint_source_state *s = self;
    dtype_tally tally = {0};
    size_t prefix = strlen(s->ck->prefix);
    for (size_t f = 0; f < s->ck->count; f++)
        for (size_t i = 0; i < s->ck->files[f]->count; i++)
            if (strncmp(s->ck->files[f]->tensors[i].name, s->ck->prefix, prefix) == 0)
                dtype_tally_add(&tally, s->ck->files[f]->tensors[i].dtype_name);
    dtype_tally_text(&tally, out, cap);
}

weight_source checkpoint_source(checkpoint_source_state *state) {
    state->parts = (parts_source_state){.reader = {state, ckpt_find_part, ckpt_missing, ckpt_read_part, NULL,
                                                   ckpt_stored_dtype, ckpt_describe},
                                        .cfg = state->cfg};
    return parts_source(&state->parts);
}
