/* Runs over prompts that look inside the forward through a backend that
 * observes every product (backend/observing.h): the f16 calibration (an
 * fp32 run recording the largest |value| of every weight matrix's product
 * input, from which the f16 writer picks power-of-two input scales,
 * format/nt5_format.h) and diagnostics (calibrate/diagnose.h). */
#ifndef NT5_IMPL_CALIBRATE_H
#define NT5_IMPL_CALIBRATE_H

#include "model/model.h"

#define CALIBRATION_NEW_TOKENS 32

/* The built-in prompt set: instructions, translation, summary, code,
 * numbers and several languages. */
extern const char *const calibration_default_texts[];
extern const size_t calibration_default_count;

/* What a probe run saw at each matrix's products (by tensor index). */
typedef struct product_range {
    float absmax;   /* largest finite |input| (0 until one is read) */
    int non_finite; /* an input was inf or nan */
    long order;     /* when it was first read; -1: never */
} product_range;

/* Each prompt encoded and, when the model has a decoder, decoded greedily
 * for CALIBRATION_NEW_TOKENS tokens, recording every product's input range
 * (with emulate_f16: of its input rounded as the f16 GPU path rounds it).
 * m must be on the CPU and have a tokenizer. progress (may be NULL) is
 * called with `what`, prompts done, prompts in all; nonzero cancels.
 * *ranges is a new [m->w.n_tensors] array, *seen the number of matrices read. */
nt5_status probe_ranges(const nt5_model *m, const char *const *texts, size_t count, int emulate_f16, const char *what,
                        nt5_progress_callback progress, void *user_data, product_range **ranges, long *seen);

/* *absmax: new [m->w.n_tensors] array, the maximum per matrix (< 0 for
 * tensors no product reads, inf where an input was not finite). progress
 * is called with "calibrating". */
nt5_status calibrate(const nt5_model *m, const char *const *texts, size_t count, nt5_progress_callback progress,
                     void *user_data, float **absmax);

#endif
