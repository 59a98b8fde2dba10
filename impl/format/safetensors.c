#include "format/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/error.h"
#include "base/json_file.h"
#include "base/regular_file.h"

#define ST_HEADER_LIMIT (100u << 20)

static const struct {
    const char *name;
    st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", ST_F32, 4},   {"F16", ST_F16, 2},    {"BF16", ST_BF16, 2},       {"F64", ST_OTHER, 8},
    {"I64", ST_OTHER, 8}, {"I32", ST_OTHER, 4},  {"I16", ST_OTHER, 2},       {"I8", ST_OTHER, 1},
    {"U8", ST_U8, 1},     {"BOOL", ST_OTHER, 1}, {"F8_E4M3", ST_F8_E4M3, 1}, {"F8_E5M2", ST_F8_E5M2, 1},
};

static void free_tensors(st_file *f) {
    for (size_t i = 0; i < f->count; i++) free(f->tensors[i].name);
    free(f->tensors);
    f->tensors = NULL;
    f->count = 0;
}

void st_close(st_file *f) {
    if (!f) return;
    free_tensors(f);
    cJSON_Delete(f->metadata);
    if (f->map) munmap(f->map, f->map_size);
    free(f->path);
    free(f);
}

static int by_offset(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    return (x->data > y->data) - (x->data < y->data);
}

/* Parses one header entry into `t`. */
static nt5_status parse_entry(const cJSON *item, const uint8_t *data, size_t data_size, const char *what,
                              st_tensor *t) {
    const char *name = item->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsObject(item) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
        cJSON_GetArraySize(offs) != 2)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" needs dtype, shape and data_offsets [begin, end]", what,
                       name);
    size_t k = 0, n = sizeof dtypes / sizeof dtypes[0];
    while (k < n && strcmp(dtypes[k].name, dt->valuestring) != 0) k++;
    if (k == n)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" has unknown dtype \"%s\"", what, name, dt->valuestring);
    t->dtype = dtypes[k].dtype;
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dtypes[k].name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS) return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" has %d dimensions", what, name, ndim);
    t->ndim = ndim;
    uint64_t elems = 1;
    for (int d = 0; d < ndim; d++) {
        const cJSON *v = cJSON_GetArrayItem(shape, d);
        double x = cJSON_GetNumberValue(v);
        if (!cJSON_IsNumber(v) || x < 0 || x > 9.0e15 || x != (double)(int64_t)x)
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" has an invalid shape", what, name);
        t->shape[d] = (int64_t)x;
        if (t->shape[d] != 0 && elems > UINT64_MAX / (uint64_t)t->shape[d])
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" shape overflows", what, name);
        elems *= (uint64_t)t->shape[d];
    }
    double b = cJSON_GetNumberValue(cJSON_GetArrayItem(offs, 0));
    double e = cJSON_GetNumberValue(cJSON_GetArrayItem(offs, 1));
    if (!(b >= 0 && e >= b && e <= (double)data_size) || b != (double)(uint64_t)b || e != (double)(uint64_t)e)
        return err_set(NT5_ERR_FORMAT,
                       "%s: tensor \"%s\" data_offsets [%.0f, %.0f] lie outside the %zu-byte data section", what, name,
                       b, e, data_size);
    uint64_t nbytes = (uint64_t)e - (uint64_t)b;
    if (elems > UINT64_MAX / dtypes[k].size || elems * dtypes[k].size != nbytes)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" has %llu bytes but its shape and dtype need %llu", what, name,
                       (unsigned long long)nbytes, (unsigned long long)(elems * dtypes[k].size));
    t->data = data + (size_t)b;
    t->nbytes = (size_t)nbytes;
    return NT5_OK;
}

static nt5_status parse_header(st_file *f, const uint8_t *bytes, size_t size, const char *what) {
    if (size < 8) return err_set(NT5_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors file", what, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    if (hlen > size - 8 || hlen > ST_HEADER_LIMIT)
        return err_set(NT5_ERR_FORMAT, "%s: header length %llu runs past the end of the %zu-byte file", what,
                       (unsigned long long)hlen, size);
    const uint8_t *data = bytes + 8 + hlen;
    size_t data_size = size - 8 - (size_t)hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(NT5_ERR_FORMAT, "%s: the header is not a JSON object", what);
    }
    const char *twice = json_duplicate_key(root); /* the format forbids it; which would win is a guess */
    if (twice) {
        nt5_status st = err_set(NT5_ERR_FORMAT, "%s: tensor \"%.200s\" appears twice in the header", what, twice);
        cJSON_Delete(root);
        return st;
    }
    nt5_status st = NT5_OK;
    size_t n = 0;
    for (const cJSON *it = root->child; it; it = it->next) n++;
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", what);
    for (const cJSON *it = root->child; it && st == NT5_OK; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) st = err_set(NT5_ERR_FORMAT, "%s: __metadata__ is not an object", what);
            continue;
        }
        st_tensor *t = &f->tensors[f->count];
        st = parse_entry(it, data, data_size, what, t);
        if (st != NT5_OK) break;
        if (!(t->name = strdup(it->string))) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        else f->count++;
    }
    if (st == NT5_OK) f->metadata = cJSON_DetachItemFromObjectCaseSensitive(root, "__metadata__");
    cJSON_Delete(root);
    if (st != NT5_OK) return st;
    st_tensor *sorted = malloc((f->count ? f->count : 1) * sizeof *sorted);
    if (!sorted) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(sorted, f->tensors, f->count * sizeof *sorted);
    qsort(sorted, f->count, sizeof *sorted, by_offset);
    for (size_t i = 1; i < f->count && st == NT5_OK; i++) {
        if (sorted[i - 1].data + sorted[i - 1].nbytes > sorted[i].data)
            st = err_set(NT5_ERR_FORMAT, "%s: tensors \"%s\" and \"%s\" overlap", what, sorted[i - 1].name,
                         sorted[i].name);
        else if (strcmp(sorted[i - 1].name, sorted[i].name) == 0)
            st = err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" appears twice", what, sorted[i].name);
    }
    free(sorted);
    return st;
}

nt5_status st_parse(const uint8_t *bytes, size_t size, const char *what, st_file **out) {
    st_file *f = calloc(1, sizeof *f);
    if (!f) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    nt5_status st = parse_header(f, bytes, size, what);
    if (st != NT5_OK) {
        st_close(f);
        return st;
    }
    *out = f;
    return NT5_OK;
}

nt5_status st_open(const char *path, st_file **out) {
    const uint8_t *map = NULL;
    size_t size = 0;
    nt5_status st = regular_file_map(path, &map, &size);
    if (st != NT5_OK) return st;
    st_file *f = NULL;
    st = st_parse(map, size, path, &f);
    if (st != NT5_OK) {
        if (map) munmap((void *)map, size);
        return st;
    }
    f->map = (void *)map;
    f->map_size = size;
    if (!(f->path = strdup(path))) {
        st_close(f);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    *out = f;
    return NT5_OK;
}

const char *st_metadata(const st_file *f, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}
