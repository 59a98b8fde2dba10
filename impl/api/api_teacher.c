/* Public entry point (experimental): teacher-forced decoder logits. */
#define NT5_EXPERIMENTAL
#include "nt5_experimental.h"

#include <stdint.h>

#include "base/error.h"
#include "generate/teacher_forced.h"
#include "model/inputs.h"

nt5_status nt5_teacher_forced_logits(const nt5_model *model, const int32_t *input_ids, size_t n_input,
                                     const int32_t *decoder_ids, size_t n, float *logits, size_t capacity) {
    if (!model || !input_ids || !decoder_ids)
        return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", !model ? "model" : !input_ids ? "input_ids" : "decoder_ids");
    if (!model->has_decoder) return err_set(NT5_ERR_UNSUPPORTED, "this model has no decoder (%s)", model->no_decoder);
    if (n == 0) return err_set(NT5_ERR_INVALID_ARG, "no decoder ids (n is 0)");
    size_t V = (size_t)model->cfg.vocab_size;
    for (size_t t = 0; t < n; t++)
        if (decoder_ids[t] < 0 || (size_t)decoder_ids[t] >= V)
            return err_set(NT5_ERR_INVALID_ARG, "decoder_ids[%zu] = %d is not in [0, %zu)", t, decoder_ids[t], V);
    if (n > SIZE_MAX / V || capacity < n * V)
        return err_set(NT5_ERR_BUFFER_TOO_SMALL, "logits holds %zu floats; %zu decoder ids need %zu x %zu", capacity, n,
                       n, V);
    if (!logits) return err_set(NT5_ERR_INVALID_ARG, "logits is NULL");
    input_spec spec = {.ids = input_ids, .lengths = &n_input, .batch = 1};
    batch_input in;
    nt5_status st = inputs_prepare(model, &spec, 0, 1, 0, &in);
    if (st != NT5_OK) return st;
    st = teacher_forced_logits(model, &in, decoder_ids, n, logits);
    inputs_free(&in);
    return st;
}
