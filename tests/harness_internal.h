/* The harness of the tests of internals: fixture readers and model copies
 * made with the library's own safetensors reader and half conversions
 * (harness_reference.c, harness_models.c). */
#ifndef NT5_TEST_HARNESS_INTERNAL_H
#define NT5_TEST_HARNESS_INTERNAL_H

#include "format/safetensors.h"
#include "harness.h"

/* reference.json and reference.safetensors of a fixture directory. */
typedef struct reference {
    cJSON *json;
    st_file *tensors;
} reference;
int reference_load(const char *dir, reference *ref);
void reference_free(reference *ref);
/* A tensor of reference.safetensors as floats (points into the mapping). */
const float *reference_tensor(const reference *ref, const char *name, size_t *count);
/* Reads a JSON array of integers into a malloc'ed int32 array. */
int32_t *json_int_array(const cJSON *array, size_t *n);

/* harness_models.c (tests of internals): a copy of the model directory
 * `model` (F32 model.safetensors, config and tokenizer files) in the new
 * directory `dir`, its weights stored as `dtype` and multiplied by
 * scale(tensor name) when scale is not NULL. 0 on success. */
int make_model_copy(const char *model, const char *dir, int dtype, float (*scale)(const char *name));

#endif
