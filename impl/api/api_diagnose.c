/* Public entry point (experimental): diagnostics of a model's product inputs. */
#define NT5_EXPERIMENTAL
#include "nt5_experimental.h"

#include <stdlib.h>

#include "base/error.h"
#include "base/text_out.h"
#include "calibrate/diagnose.h"

nt5_status nt5_model_diagnose(const nt5_model *model, const char *const *texts, size_t count, int32_t flags, char *json,
                              size_t capacity, size_t *length) {
    if (!model || !texts) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", model ? "texts" : "model");
    if (!json && capacity) return err_set(NT5_ERR_INVALID_ARG, "json is NULL but capacity is %zu", capacity);
    if (flags & ~NT5_DIAGNOSE_EMULATE_F16) return err_set(NT5_ERR_INVALID_ARG, "unknown flags 0x%x", (unsigned)flags);
    char *text = NULL;
    nt5_status st = diagnose_report(model, texts, count, (flags & NT5_DIAGNOSE_EMULATE_F16) != 0, &text);
    if (st == NT5_OK) st = text_out(text, json, capacity, length);
    free(text);
    return st;
}
