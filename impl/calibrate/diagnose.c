#include "calibrate/diagnose.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "calibrate/calibrate.h"

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
    ok = ok && cJSON_AddNumberToObject(root, "non_finite_weights", (double)m->w.non_finite) &&
         (m->w.non_finite ? cJSON_AddStringToObject(root, "first_non_finite_weight", m->w.first_non_finite) != NULL
                          : cJSON_AddNullToObject(root, "first_non_finite_weight") != NULL);
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    free(order);
    return text;
}

nt5_status diagnose_report(const nt5_model *m, const char *const *texts, size_t count, int emulate_f16, char **json) {
    *json = NULL;
    int scaled = 0;
    for (size_t i = 0; i < m->w.n_tensors; i++) scaled |= m->w.tensors[i].input_exp >= 0;
    if (emulate_f16 && !scaled)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "emulating half precision needs an f16 nt5 file with calibrated input "
                       "scales (nt5 convert --dtype f16)");
    product_range *r = NULL;
    long seen = 0;
    nt5_status st = probe_ranges(m, texts, count, emulate_f16, "diagnosing", NULL, NULL, &r, &seen);
    char *text = st == NT5_OK ? report(m, r, seen, emulate_f16) : NULL;
    if (st == NT5_OK && !text) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory writing the report");
    free(r);
    *json = text;
    return st;
}
