/* Diagnostics (nt5_model_diagnose): the range of every product's input
 * over a run of prompts, in forward order, and the first product that saw a
 * non-finite value; optionally with product inputs rounded as the
 * half-precision path rounds them (f16 files). */
#ifndef NT5_IMPL_DIAGNOSE_H
#define NT5_IMPL_DIAGNOSE_H

#include "model/model.h"

/* The report as JSON text (*json, malloc'ed): {"emulate_f16", "products":
 * [{"matrix", "input_absmax", "non_finite", "input_exp"?}], "first_non_finite",
 * "non_finite_weights", "first_non_finite_weight"}. */
nt5_status diagnose_report(const nt5_model *m, const char *const *texts, size_t count, int emulate_f16, char **json);

#endif
