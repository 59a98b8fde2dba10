#include "format/nt5_format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_file.h"

#define F16_LIMIT 65504.0f

int nt5file_is(const st_file *f) {
    const char *format = st_metadata(f, "format");
    return format && strcmp(format, "nt5") == 0;
}

nt5_status nt5file_check(const st_file *f) {
    const char *format = st_metadata(f, "format"), *version = st_metadata(f, "nt5_format");
    if (!format || strcmp(format, "nt5") != 0)
        return err_set(NT5_ERR_FORMAT,
                       "%s is a safetensors file but not an nt5 model file (open its directory, "
                       "with config.json, instead)",
                       f->path);
    if (!version || (strcmp(version, NT5_FILE_FORMAT_VERSION) != 0 && strcmp(version, NT5_FILE_FORMAT_BLOCKS) != 0 &&
                     strcmp(version, NT5_FILE_FORMAT_PARTS) != 0))
        return err_set(NT5_ERR_UNSUPPORTED, "%s has nt5 file format %s; this library reads formats %s, %s and %s",
                       f->path, version ? version : "(none)", NT5_FILE_FORMAT_VERSION, NT5_FILE_FORMAT_BLOCKS,
                       NT5_FILE_FORMAT_PARTS);
    return NT5_OK;
}

/* The block types of a blocks entry: "Q4_K", or a matrix's parts
 * "Q4_K+Q4_K+Q6_K"; their count, 0 when one is unknown or there are more
 * than HF_PARTS_MAX. */
static int parse_part_types(const char *text, const block_type *types[HF_PARTS_MAX]) {
    for (int n = 0; n < HF_PARTS_MAX; text++) {
        char name[16];
        size_t len = strcspn(text, "+");
        if (len == 0 || len >= sizeof name) return 0;
        memcpy(name, text, len);
        name[len] = '\0';
        if (!(types[n++] = block_type_named(name))) return 0;
        text += len;
        if (!*text) return n;
    }
    return 0;
}

nt5_status nt5file_blocks(const st_file *f, cJSON **blocks) {
    *blocks = NULL;
    const char *text = st_metadata(f, "blocks");
    if (!text) return NT5_OK;
    nt5_status st = json_parse_object(text, strlen(text), f->path, blocks);
    const block_type *types[HF_PARTS_MAX];
    for (const cJSON *e = st == NT5_OK ? (*blocks)->child : NULL; e && st == NT5_OK; e = e->next)
        if (!cJSON_IsString(e) || !parse_part_types(e->valuestring, types))
            st = err_set(NT5_ERR_FORMAT, "%s: metadata \"blocks\" gives tensor \"%s\" no block type nt5 knows", f->path,
                         e->string);
    if (st != NT5_OK) {
        cJSON_Delete(*blocks);
        *blocks = NULL;
    }
    return st;
}

int nt5file_part_types(const cJSON *blocks, const char *name, const block_type *types[HF_PARTS_MAX]) {
    const cJSON *e = blocks ? cJSON_GetObjectItemCaseSensitive(blocks, name) : NULL;
    return e ? parse_part_types(e->valuestring, types) : 0;
}

const block_type *nt5file_block_type(const cJSON *blocks, const char *name) {
    const block_type *types[HF_PARTS_MAX];
    return nt5file_part_types(blocks, name, types) == 1 ? types[0] : NULL;
}

nt5_status nt5file_int(const st_file *f, const char *key, int *out) {
    const char *v = st_metadata(f, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < 0 || x > 1000000)
        return err_set(NT5_ERR_FORMAT, "%s: metadata \"%s\" is missing or invalid", f->path, key);
    *out = (int)x;
    return NT5_OK;
}

/* An integer field of an f16_scales entry in [lo, hi], or `absent`. */
static int scale_field(const cJSON *entry, const char *field, int lo, int hi, int absent, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, field);
    *out = absent;
    if (!v) return 1;
    if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble || v->valuedouble < lo || v->valuedouble > hi)
        return 0;
    *out = (int)v->valuedouble;
    return 1;
}

nt5_status nt5file_scales(const st_file *f, cJSON **scales) {
    const char *text = st_metadata(f, "f16_scales");
    *scales = NULL;
    if (!text) return NT5_OK;
    cJSON *all = NULL;
    nt5_status st = json_parse_object(text, strlen(text), f->path, &all);
    const cJSON *e, *entries = st == NT5_OK ? all : NULL;
    cJSON_ArrayForEach(e, entries) {
        int w, in;
        if (!cJSON_IsObject(e) || !cJSON_GetObjectItemCaseSensitive(e, "weight_exp") ||
            !scale_field(e, "weight_exp", -64, 64, 0, &w) || !scale_field(e, "input_exp", 0, 64, -1, &in)) {
            st = err_set(NT5_ERR_FORMAT, "%s: f16_scales[\"%s\"] has no valid weight_exp and input_exp", f->path,
                         e->string ? e->string : "?");
            break;
        }
    }
    if (st != NT5_OK) {
        cJSON_Delete(all);
        return st;
    }
    *scales = all;
    return NT5_OK;
}

int32_t nt5file_weight_exp(const cJSON *scales, const char *matrix) {
    int w = 0;
    scale_field(cJSON_GetObjectItemCaseSensitive(scales, matrix), "weight_exp", -64, 64, 0, &w);
    return w;
}

int32_t nt5file_input_exp(const cJSON *scales, const char *matrix) {
    int in = -1;
    scale_field(cJSON_GetObjectItemCaseSensitive(scales, matrix), "input_exp", 0, 64, -1, &in);
    return in;
}

int32_t nt5file_pick_input_exp(float absmax, float headroom) {
    int32_t e = 0;
    while (e < 64 && ldexpf(absmax * headroom, -e) > F16_LIMIT) e++;
    return e;
}
