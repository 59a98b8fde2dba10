#include "generate/gen_options.h"

#include "base/error.h"

const nt5_generate_options gen_default_options = {
    .struct_size = sizeof(nt5_generate_options),
    .max_new_tokens = 64,
    .min_new_tokens = 0,
    .num_beams = 1,
    .do_sample = 0,
    .temperature = 1.0f,
    .top_k = 0,
    .top_p = 1.0f,
    .seed = 0,
    .length_penalty = 1.0f,
    .early_stopping = 0,
    .num_return_sequences = 1,
    .repetition_penalty = 1.0f,
    .no_repeat_ngram_size = 0,
    .max_input_length = 0,
    .truncation = 1,
    .on_token = NULL,
    .user_data = NULL,
    .num_threads = 0,
};

nt5_status gen_check_options(const nt5_generate_options *o) {
    if (o->max_new_tokens < 1 || o->max_new_tokens > 65536)
        return err_set(NT5_ERR_INVALID_ARG, "max_new_tokens %d is not in [1, 65536]", o->max_new_tokens);
    if (o->min_new_tokens < 0 || o->min_new_tokens > o->max_new_tokens)
        return err_set(NT5_ERR_INVALID_ARG, "min_new_tokens %d is not in [0, max_new_tokens]", o->min_new_tokens);
    if (o->num_beams < 1 || o->num_beams > 256)
        return err_set(NT5_ERR_INVALID_ARG, "num_beams %d is not in [1, 256]", o->num_beams);
    if (o->do_sample && o->num_beams > 1)
        return err_set(NT5_ERR_UNSUPPORTED, "sampling with num_beams > 1 (beam sampling) is not supported");
    if (!(o->temperature > 0) || o->temperature > 1e6f) return err_set(NT5_ERR_INVALID_ARG, "temperature must be > 0");
    if (o->top_k < 0) return err_set(NT5_ERR_INVALID_ARG, "top_k %d is negative", o->top_k);
    if (!(o->top_p > 0) || o->top_p > 1) return err_set(NT5_ERR_INVALID_ARG, "top_p must be in (0, 1]");
    if (!(o->length_penalty > -1e6f && o->length_penalty < 1e6f))
        return err_set(NT5_ERR_INVALID_ARG, "length_penalty is not a finite number");
    if (o->num_return_sequences < 1 || (o->num_beams > 1 && o->num_return_sequences > o->num_beams) ||
        (o->num_beams == 1 && o->num_return_sequences != 1))
        return err_set(NT5_ERR_INVALID_ARG, "num_return_sequences %d must be 1, or at most num_beams with beam search",
                       o->num_return_sequences);
    if (!(o->repetition_penalty > 0) || o->repetition_penalty > 1e6f)
        return err_set(NT5_ERR_INVALID_ARG, "repetition_penalty must be > 0");
    if (o->no_repeat_ngram_size < 0)
        return err_set(NT5_ERR_INVALID_ARG, "no_repeat_ngram_size %d is negative", o->no_repeat_ngram_size);
    if (o->num_threads < 0) return err_set(NT5_ERR_INVALID_ARG, "num_threads %d is negative", o->num_threads);
    if (o->max_input_length < 0) return err_set(NT5_ERR_INVALID_ARG, "max_input_length is negative");
    return NT5_OK;
}
