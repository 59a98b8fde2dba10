/* Model directories made by tests: fixture copies with their weights
 * rewritten (another dtype, some tensors scaled). Uses the library's
 * safetensors reader and half conversions, so only tests of internals link
 * it. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/half.h"
#include "harness_internal.h"

static void write_header(FILE *f, const st_file *src, int dtype) {
    cJSON *header = cJSON_CreateObject();
    size_t at = 0, elem = dtype == NT5_DTYPE_F32 ? 4 : 2;
    for (size_t i = 0; i < src->count; i++) {
        const st_tensor *t = &src->tensors[i];
        size_t bytes = t->nbytes / 4 * elem;
        cJSON *e = cJSON_AddObjectToObject(header, t->name);
        cJSON_AddStringToObject(e, "dtype", dtype == NT5_DTYPE_F16 ? "F16" : dtype == NT5_DTYPE_BF16 ? "BF16" : "F32");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(at + bytes)));
        at += bytes;
    }
    char *text = cJSON_PrintUnformatted(header);
    size_t hl = strlen(text), padded = (hl + 7) / 8 * 8;
    uint64_t len = padded;
    fwrite(&len, 8, 1, f);
    fwrite(text, 1, hl, f);
    for (size_t i = hl; i < padded; i++) fputc(' ', f);
    free(text);
    cJSON_Delete(header);
}

static void write_weights_copy(const st_file *src, const char *path, int dtype, float (*scale)(const char *name)) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        CHECK(0, "cannot write %s", path);
        return;
    }
    write_header(f, src, dtype);
    for (size_t i = 0; i < src->count; i++) {
        const st_tensor *t = &src->tensors[i];
        size_t n = t->nbytes / 4;
        float *vals = malloc(t->nbytes);
        memcpy(vals, t->data, t->nbytes);
        float k = scale ? scale(t->name) : 1.0f;
        for (size_t j = 0; j < n; j++) vals[j] *= k;
        half_from_f32(vals, vals, n, dtype); /* in place: 16-bit values take the first half */
        fwrite(vals, dtype == NT5_DTYPE_F32 ? 4 : 2, n, f);
        free(vals);
    }
    fclose(f);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char a[2048], b[2048];
    size_t len;
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    char *data = read_file(a, &len);
    FILE *f = data ? fopen(b, "wb") : NULL;
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    free(data);
}

int make_model_copy(const char *model, const char *dir, int dtype, float (*scale)(const char *name)) {
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", model);
    st_file *src = NULL;
    CHECK_STATUS(st_open(path, &src), NT5_OK);
    if (!src) return -1;
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_weights_copy(src, path, dtype, scale);
    st_close(src);
    static const char *const files[] = {"config.json", "spiece.model", "tokenizer_config.json"};
    for (int k = 0; k < 3; k++) copy_file(model, dir, files[k]);
    return 0;
}
