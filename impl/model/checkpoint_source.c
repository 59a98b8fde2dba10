/* A Hugging Face checkpoint as a weight source: nt5 tensors assembled from
 * the (fused) HF tensors they are made of. */
#include "model/checkpoint_source.h"

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

/* The HF parts of an nt5 tensor, read into dst (or only checked when dst is NULL). */
static nt5_status ckpt_parts(void *self, const char *nt5_name, int64_t rows, int64_t cols, float *dst) {
    const st_tensor *found[HF_PARTS_MAX];
    char names[HF_PARTS_MAX][HF_NAME_MAX];
    int n = find_parts(self, nt5_name, found, names);
    if (n == 0) return err_set(NT5_ERR_INTERNAL, "no Hugging Face name for tensor \"%s\"", nt5_name);
    size_t part_rows = (size_t)rows / (size_t)n, width = cols ? (size_t)cols : 1;
    for (int i = 0; i < n; i++) {
        if (!found[i]) return err_set(NT5_ERR_NOT_FOUND, "tensor \"%s\" is missing from the checkpoint", names[i]);
        nt5_status st = dst ? tensor_read(found[i], names[i], (int64_t)part_rows, cols, 0,
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
