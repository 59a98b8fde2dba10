/* Fixture readers of the harness (they use the library's safetensors
 * reader, so only tests of internals link them). */
#include <stdlib.h>
#include <string.h>

#include "harness_internal.h"

int reference_load(const char *dir, reference *ref) {
    char path[4096];
    size_t len;
    memset(ref, 0, sizeof *ref);
    snprintf(path, sizeof path, "%s/reference.json", dir);
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    ref->json = cJSON_ParseWithLength(text, len);
    free(text);
    snprintf(path, sizeof path, "%s/reference.safetensors", dir);
    if (!ref->json || st_open(path, &ref->tensors) != NT5_OK) {
        fprintf(stderr, "cannot load the reference in %s: %s\n", dir, nt5_last_error());
        reference_free(ref);
        return -1;
    }
    return 0;
}

void reference_free(reference *ref) {
    cJSON_Delete(ref->json);
    st_close(ref->tensors);
    memset(ref, 0, sizeof *ref);
}

const float *reference_tensor(const reference *ref, const char *name, size_t *count) {
    const st_tensor *t = st_find(ref->tensors, name);
    if (!t || t->dtype != ST_F32) return NULL;
    *count = t->nbytes / 4;
    return (const float *)t->data;
}

int32_t *json_int_array(const cJSON *array, size_t *n) {
    *n = (size_t)cJSON_GetArraySize(array);
    int32_t *v = malloc((*n ? *n : 1) * sizeof *v);
    size_t i = 0;
    for (const cJSON *it = array ? array->child : NULL; it && v; it = it->next) v[i++] = (int32_t)it->valuedouble;
    return v;
}
