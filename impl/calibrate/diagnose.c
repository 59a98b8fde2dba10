/* nt5_model_diagnose (experimental): the range of every product's input
 * over a run of prompts, in forward order, and the first product that saw a
 * non-finite value; optionally with product inputs rounded as the
 * half-precision path rounds them (f16 files). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define NT5_EXPERIMENTAL
#include "calibrate/calibrate.h"
#include "base/error.h"
#include "nt5_experimental.h"
#include "base/text_out.h"

/* Matrix names in forward order: tensor indices sorted by first sight. */
static long *forward_order(const product_range *r, size_t count, long seen) {
    long *at = malloc((size_t)seen * sizeof *at + 1);
    for (size_t i = 0; at && i < count; i++)
        if (r[i].order >= 0) at[r[i].order] = (long)i;
    return at;
}

static char *report(const nt5_model *m, const product_range *r, long seen, int emulated) {
    long *order = forward_order(r, m->w.n_tensors, seen);
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "products");
    const char *first = NULL;
    int ok = order && list && cJSON_AddBoolToObject(root, "emulate_f16", emulated);
    for (long i = 0; ok && i < seen; i++) {
        const product_range *p = &r[order[i]];
        int tied_head = m->has_decoder && m->cfg.tie_word_embeddings && order[i] == m->w.shared.index;
        const char *name = tied_head ? "lm_head" : m->w.tensors[order[i]].name;
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(list, e) && cJSON_AddStringToObject(e, "matrix", name) &&
             cJSON_AddNumberToObject(e, "input_absmax", p->absmax) &&
             cJSON_AddBoolToObject(e, "non_finite", p->non_finite) &&
             (m->w.tensors[order[i]].input_exp < 0 ||
              cJSON_AddNumberToObject(e, "input_exp", m->w.tensors[order[i]].input_exp));
        if (p->non_finite && !first) first = name;
    }
    ok = ok && (first ? cJSON_AddStringToObject(root, "first_non_finite", first) != NULL
                      : cJSON_AddNullToObject(root, "first_non_finite") != NULL);
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    free(order);
    return text;
}

nt5_status nt5_model_diagnose(const nt5_model *model, const char *const *texts, size_t count, int32_t flags,
                              char *json, size_t capacity, size_t *length) {
    if (!model || !texts) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", model ? "texts" : "model");
    if (!json && capacity) return err_set(NT5_ERR_INVALID_ARG, "json is NULL but capacity is %zu", capacity);
    if (flags & ~NT5_DIAGNOSE_EMULATE_F16) return err_set(NT5_ERR_INVALID_ARG, "unknown flags 0x%x", (unsigned)flags);
    int emulate = (flags & NT5_DIAGNOSE_EMULATE_F16) != 0;
    int scaled = 0;
    for (size_t i = 0; i < model->w.n_tensors; i++) scaled |= model->w.tensors[i].input_exp >= 0;
    if (emulate && !scaled)
        return err_set(NT5_ERR_UNSUPPORTED, "emulating half precision needs an f16 nt5 file with calibrated input "
                       "scales (nt5 convert --dtype f16)");
    product_range *r = NULL;
    long seen = 0;
    nt5_status st = probe_ranges(model, texts, count, emulate, "diagnosing", NULL, NULL, &r, &seen);
    char *text = st == NT5_OK ? report(model, r, seen, emulate) : NULL;
    if (st == NT5_OK && !text) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory writing the report");
    if (st == NT5_OK) st = text_out(text, json, capacity, length);
    free(text);
    free(r);
    return st;
}
