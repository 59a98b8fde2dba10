/* The f16 calibration: an fp32 run over prompts (each encoded and, when the
 * model has a decoder, decoded greedily for a few tokens) that records the
 * largest |value| of every weight matrix's product input, from which the f16
 * writer picks power-of-two input scales (nt5_file.h). */
#ifndef NT5_IMPL_CALIBRATE_H
#define NT5_IMPL_CALIBRATE_H

#include "model.h"

#define CALIBRATION_NEW_TOKENS 32

/* The built-in prompt set: instructions, translation, summary, code,
 * numbers and several languages. */
extern const char *const calibration_default_texts[];
extern const size_t calibration_default_count;

/* *absmax: new [m->w.n_tensors] array, the maximum per matrix (< 0 for
 * tensors no product reads). m must be on the CPU backend. progress is
 * called with "calibrating", prompts done, prompts in all. */
nt5_status calibrate(nt5_model *m, const char *const *texts, size_t count, nt5_progress_callback progress,
                     void *user_data, float **absmax);

#endif
