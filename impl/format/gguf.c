#include "format/gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/error.h"
#include "base/regular_file.h"
#include "format/gguf_quants.h"

/* The fewest bytes a metadata entry (key length, type, a 1-byte value) and
 * a tensor info (name length, n_dims, one dimension, type, offset) take:
 * bounds on the counts a header may claim. */
#define MIN_KV_BYTES 13u
#define MIN_TENSOR_BYTES 32u
#define DEFAULT_ALIGNMENT 32u

typedef struct kv_entry {
    char *key;
    size_t *offsets; /* value.str_offsets, owned */
    gguf_value value;
} kv_entry;

typedef struct tensor_entry {
    char *name;      /* tensor.name, owned */
    uint64_t offset; /* in the data section */
    gguf_tensor tensor;
} tensor_entry;

struct gguf_file {
    const uint8_t *map; /* what gguf_open mapped, else NULL */
    size_t map_size;
    uint32_t version;
    kv_entry *kvs;
    size_t n_kv;
    const kv_entry **kv_by_key; /* [n_kv] sorted by key */
    tensor_entry *tensors;
    size_t n_tensors;
    const tensor_entry **by_name; /* [n_tensors] sorted by name */
};

/* Bytes of one element of each value type (0: strings and arrays). */
static const uint8_t value_size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const value_type_name[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
                                              "bool",  "string", "array",  "uint64", "int64",  "float64"};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* A cursor over the file; `what` names it in messages. */
typedef struct reader {
    const uint8_t *bytes;
    size_t size, pos;
    const char *what;
} reader;

static size_t left(const reader *r) { return r->size - r->pos; }

/* NT5_ERR_FORMAT: "<what>: <item> <problem>", the item formatted only now. */
static nt5_status fail_item(const reader *r, const char *problem, const char *fmt, va_list ap) {
    char item[320];
    vsnprintf(item, sizeof item, fmt, ap);
    return err_set(NT5_ERR_FORMAT, "%s: %s %s", r->what, item, problem);
}

static nt5_status past_end(const reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static nt5_status past_end(const reader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nt5_status st = fail_item(r, "runs past the end of the file", fmt, ap);
    va_end(ap);
    return st;
}

static int take_u32(reader *r, uint32_t *out) {
    if (left(r) < 4) return 0;
    *out = le32(r->bytes + r->pos);
    r->pos += 4;
    return 1;
}

static int take_u64(reader *r, uint64_t *out) {
    if (left(r) < 8) return 0;
    *out = le64(r->bytes + r->pos);
    r->pos += 8;
    return 1;
}

/* A string (64-bit length, then its bytes) into *out; the item names it in messages. */
static nt5_status read_str(reader *r, gguf_str *out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static nt5_status read_str(reader *r, gguf_str *out, const char *fmt, ...) {
    uint64_t len = 0;
    int whole = take_u64(r, &len);
    if (whole && len <= left(r)) {
        out->ptr = (const char *)r->bytes + r->pos;
        out->len = (size_t)len;
        r->pos += (size_t)len;
        return NT5_OK;
    }
    char problem[96] = "runs past the end of the file";
    if (whole)
        snprintf(problem, sizeof problem, "(a string of %llu bytes) runs past the end of the file",
                 (unsigned long long)len);
    va_list ap;
    va_start(ap, fmt);
    nt5_status st = fail_item(r, problem, fmt, ap);
    va_end(ap);
    return st;
}

/* A NUL-terminated copy of a key or tensor name (which may not hold a NUL byte). */
static nt5_status copy_name(const reader *r, gguf_str s, const char *kind, char **out) {
    if (memchr(s.ptr, 0, s.len))
        return err_set(NT5_ERR_FORMAT, "%s: %s \"%.200s\" holds a NUL byte", r->what, kind, s.ptr);
    char *c = malloc(s.len + 1);
    if (!c) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", r->what);
    memcpy(c, s.ptr, s.len);
    c[s.len] = '\0';
    *out = c;
    return NT5_OK;
}

/* The elements of kv's value: fixed-size ones are skipped over, strings
 * walked (an array's offsets kept for O(1) access). */
static nt5_status read_elements(reader *r, kv_entry *kv) {
    gguf_value *v = &kv->value;
    const char *elem = value_type_name[v->elem_type];
    v->data = r->bytes + r->pos;
    if (value_size[v->elem_type]) {
        if (v->count > left(r) / value_size[v->elem_type])
            return v->type == GGUF_TYPE_ARRAY ? past_end(r, "metadata \"%.200s\" (an array of %llu %s values)", kv->key,
                                                         (unsigned long long)v->count, elem)
                                              : past_end(r, "metadata \"%.200s\" (a %s)", kv->key, elem);
        r->pos += (size_t)v->count * value_size[v->elem_type];
        return NT5_OK;
    }
    gguf_str s;
    if (v->type == GGUF_TYPE_STRING) return read_str(r, &s, "metadata \"%.200s\"", kv->key);
    if (v->count > left(r) / 8)
        return past_end(r, "metadata \"%.200s\" (an array of %llu strings)", kv->key, (unsigned long long)v->count);
    if (!(kv->offsets = malloc((v->count ? (size_t)v->count : 1) * sizeof *kv->offsets)))
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", r->what);
    v->str_offsets = kv->offsets;
    for (size_t i = 0; i < v->count; i++) {
        kv->offsets[i] = (size_t)(r->bytes + r->pos - v->data);
        nt5_status st = read_str(r, &s, "string %zu of metadata \"%.200s\"", i, kv->key);
        if (st != NT5_OK) return st;
    }
    return NT5_OK;
}

/* Metadata entry i: key, value type, value. */
static nt5_status read_kv(reader *r, size_t i, kv_entry *kv) {
    gguf_str key;
    nt5_status st = read_str(r, &key, "the key of metadata entry %zu", i);
    if (st == NT5_OK) st = copy_name(r, key, "metadata key", &kv->key);
    if (st != NT5_OK) return st;
    gguf_value *v = &kv->value;
    if (!take_u32(r, &v->type)) return past_end(r, "metadata \"%.200s\"", kv->key);
    if (v->type > GGUF_TYPE_FLOAT64)
        return err_set(NT5_ERR_FORMAT, "%s: metadata \"%.200s\" has unknown value type %u", r->what, kv->key, v->type);
    v->elem_type = v->type;
    v->count = 1;
    if (v->type == GGUF_TYPE_ARRAY) {
        if (!take_u32(r, &v->elem_type) || !take_u64(r, &v->count))
            return past_end(r, "metadata \"%.200s\" (an array)", kv->key);
        if (v->elem_type == GGUF_TYPE_ARRAY)
            return err_set(NT5_ERR_FORMAT, "%s: metadata \"%.200s\" is an array of arrays, which nt5 does not read",
                           r->what, kv->key);
        if (v->elem_type > GGUF_TYPE_FLOAT64)
            return err_set(NT5_ERR_FORMAT, "%s: metadata \"%.200s\" is an array of unknown value type %u", r->what,
                           kv->key, v->elem_type);
    }
    return read_elements(r, kv);
}

static int kv_order(const void *a, const void *b) {
    return strcmp((*(const kv_entry *const *)a)->key, (*(const kv_entry *const *)b)->key);
}
static int kv_match(const void *key, const void *e) { return strcmp(key, (*(const kv_entry *const *)e)->key); }
static int name_order(const void *a, const void *b) {
    return strcmp((*(const tensor_entry *const *)a)->name, (*(const tensor_entry *const *)b)->name);
}
static int name_match(const void *name, const void *e) { return strcmp(name, (*(const tensor_entry *const *)e)->name); }
static int offset_order(const void *a, const void *b) {
    uint64_t x = (*(const tensor_entry *const *)a)->offset, y = (*(const tensor_entry *const *)b)->offset;
    return (x > y) - (x < y);
}

/* The metadata, its index by key (no key twice) and the alignment it sets. */
static nt5_status read_metadata(reader *r, gguf_file *f, uint32_t *alignment) {
    for (size_t i = 0; i < f->n_kv; i++) {
        nt5_status st = read_kv(r, i, &f->kvs[i]);
        if (st != NT5_OK) return st;
    }
    for (size_t i = 0; i < f->n_kv; i++) f->kv_by_key[i] = &f->kvs[i];
    qsort(f->kv_by_key, f->n_kv, sizeof *f->kv_by_key, kv_order);
    for (size_t i = 1; i < f->n_kv; i++)
        if (strcmp(f->kv_by_key[i - 1]->key, f->kv_by_key[i]->key) == 0)
            return err_set(NT5_ERR_FORMAT, "%s: metadata key \"%.200s\" appears twice", r->what, f->kv_by_key[i]->key);
    *alignment = DEFAULT_ALIGNMENT;
    if (gguf_get(f, "general.alignment") && !gguf_get_u32(f, "general.alignment", alignment))
        return err_set(NT5_ERR_FORMAT, "%s: general.alignment is not a 32-bit unsigned integer", r->what);
    if (*alignment == 0 || (*alignment & (*alignment - 1)) != 0)
        return err_set(NT5_ERR_FORMAT, "%s: general.alignment %u is not a power of two", r->what, *alignment);
    return NT5_OK;
}

/* Tensor info i: name, dimensions (their product below 2^63), type (rows of
 * whole blocks), aligned offset. Where its data lie is checked later. */
static nt5_status read_tensor_info(reader *r, size_t i, uint32_t alignment, tensor_entry *e) {
    gguf_tensor *t = &e->tensor;
    gguf_str name;
    nt5_status st = read_str(r, &name, "the name of tensor %zu", i);
    if (st == NT5_OK) st = copy_name(r, name, "tensor name", &e->name);
    if (st != NT5_OK) return st;
    t->name = e->name;
    if (!take_u32(r, &t->n_dims)) return past_end(r, "tensor \"%.200s\"", t->name);
    if (t->n_dims < 1 || t->n_dims > 4)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%.200s\" has %u dimensions (GGUF allows 1 to 4)", r->what, t->name,
                       t->n_dims);
    t->n_elements = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && !take_u64(r, &t->ne[d])) return past_end(r, "tensor \"%.200s\"", t->name);
        if (t->ne[d] == 0)
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%.200s\" has a dimension of size 0", r->what, t->name);
        if (t->ne[d] > (uint64_t)INT64_MAX / t->n_elements)
            return err_set(NT5_ERR_FORMAT,
                           "%s: the element count of tensor \"%.200s\" overflows (dimension %u is %llu)", r->what,
                           t->name, d, (unsigned long long)t->ne[d]);
        t->n_elements *= t->ne[d];
    }
    if (!take_u32(r, &t->type)) return past_end(r, "tensor \"%.200s\"", t->name);
    const gguf_type_info *type = gguf_type_lookup(t->type);
    if (!type)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%.200s\" has unknown ggml type %u", r->what, t->name, t->type);
    if (t->ne[0] % type->block_size != 0)
        return err_set(NT5_ERR_FORMAT,
                       "%s: tensor \"%.200s\" (%s) has rows of %llu elements, not a multiple of its %u-element blocks",
                       r->what, t->name, type->name, (unsigned long long)t->ne[0], type->block_size);
    uint64_t blocks = t->n_elements / type->block_size;
    /* larger than any file: the check against the data section refuses it */
    t->nbytes = blocks > SIZE_MAX / type->type_size ? SIZE_MAX : (size_t)blocks * type->type_size;
    if (!take_u64(r, &e->offset)) return past_end(r, "tensor \"%.200s\"", t->name);
    if (e->offset % alignment != 0)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%.200s\" has offset %llu, not a multiple of the alignment %u",
                       r->what, t->name, (unsigned long long)e->offset, alignment);
    return NT5_OK;
}

/* The tensor infos, their data inside the data section (which begins at the
 * first aligned offset after them) and not overlapping, no name twice. */
static nt5_status read_tensors(reader *r, gguf_file *f, uint32_t alignment) {
    for (size_t i = 0; i < f->n_tensors; i++) {
        nt5_status st = read_tensor_info(r, i, alignment, &f->tensors[i]);
        if (st != NT5_OK) return st;
    }
    size_t start = r->pos + (alignment - r->pos % alignment) % alignment;
    size_t data_size = start <= r->size ? r->size - start : 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        tensor_entry *e = &f->tensors[i];
        if (e->offset > data_size || e->tensor.nbytes > data_size - e->offset)
            return err_set(NT5_ERR_FORMAT,
                           "%s: tensor \"%.200s\" (%llu elements at offset %llu of the data section) runs past the end "
                           "of the file (the data section holds %zu bytes)",
                           r->what, e->name, (unsigned long long)e->tensor.n_elements, (unsigned long long)e->offset,
                           data_size);
        e->tensor.data = r->bytes + start + e->offset;
    }
    /* by_name holds them by offset first, for the overlap check */
    for (size_t i = 0; i < f->n_tensors; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n_tensors, sizeof *f->by_name, offset_order);
    for (size_t i = 1; i < f->n_tensors; i++) {
        const tensor_entry *a = f->by_name[i - 1], *b = f->by_name[i];
        if (a->offset + a->tensor.nbytes > b->offset)
            return err_set(NT5_ERR_FORMAT, "%s: tensors \"%.200s\" and \"%.200s\" overlap", r->what, a->name, b->name);
    }
    qsort(f->by_name, f->n_tensors, sizeof *f->by_name, name_order);
    for (size_t i = 1; i < f->n_tensors; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%.200s\" appears twice", r->what, f->by_name[i]->name);
    return NT5_OK;
}

/* Magic, version, and counts the file's size can hold. */
static nt5_status read_header(reader *r, uint32_t *version, uint64_t *n_tensors, uint64_t *n_kv) {
    const uint8_t *b = r->bytes;
    if (r->size < 4) return err_set(NT5_ERR_FORMAT, "%s: %zu bytes is too short for a GGUF file", r->what, r->size);
    if (memcmp(b, "GGUF", 4) != 0)
        return err_set(NT5_ERR_FORMAT, "%s: not a GGUF file (it begins with bytes %02x %02x %02x %02x, not \"GGUF\")",
                       r->what, b[0], b[1], b[2], b[3]);
    r->pos = 4;
    if (!take_u32(r, version) || !take_u64(r, n_tensors) || !take_u64(r, n_kv)) return past_end(r, "the GGUF header");
    if ((*version & 0xffffu) == 0 && *version != 0)
        return err_set(NT5_ERR_FORMAT,
                       "%s: a big-endian GGUF file (its version reads as %u); nt5 reads little-endian ones", r->what,
                       *version);
    if (*version != 2 && *version != 3)
        return err_set(NT5_ERR_FORMAT, "%s: GGUF version %u is not supported (nt5 reads versions 2 and 3)", r->what,
                       *version);
    if (*n_kv > left(r) / MIN_KV_BYTES)
        return err_set(NT5_ERR_FORMAT, "%s: the header claims %llu metadata entries, more than the file can hold",
                       r->what, (unsigned long long)*n_kv);
    if (*n_tensors > (left(r) - *n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES)
        return err_set(NT5_ERR_FORMAT, "%s: the header claims %llu tensors, more than the file can hold", r->what,
                       (unsigned long long)*n_tensors);
    return NT5_OK;
}

nt5_status gguf_parse(const uint8_t *bytes, size_t size, const char *what, gguf_file **out) {
    reader r = {bytes, size, 0, what};
    gguf_file *f = calloc(1, sizeof *f);
    if (!f) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", what);
    uint64_t n_tensors = 0, n_kv = 0;
    nt5_status st = read_header(&r, &f->version, &n_tensors, &n_kv);
    if (st == NT5_OK) {
        f->n_kv = (size_t)n_kv;
        f->n_tensors = (size_t)n_tensors;
        f->kvs = calloc(f->n_kv + 1, sizeof *f->kvs);
        f->kv_by_key = calloc(f->n_kv + 1, sizeof *f->kv_by_key);
        f->tensors = calloc(f->n_tensors + 1, sizeof *f->tensors);
        f->by_name = calloc(f->n_tensors + 1, sizeof *f->by_name);
        st = f->kvs && f->kv_by_key && f->tensors && f->by_name
                 ? NT5_OK
                 : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", what);
    }
    uint32_t alignment = 0;
    if (st == NT5_OK) st = read_metadata(&r, f, &alignment);
    if (st == NT5_OK) st = read_tensors(&r, f, alignment);
    if (st != NT5_OK) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return NT5_OK;
}

nt5_status gguf_open(const char *path, gguf_file **out) {
    const uint8_t *map = NULL;
    size_t size = 0;
    nt5_status st = regular_file_map(path, &map, &size);
    if (st != NT5_OK) return st;
    gguf_file *f = NULL;
    st = gguf_parse(map, size, path, &f);
    if (st != NT5_OK) {
        if (map) munmap((void *)map, size);
        return st;
    }
    f->map = map;
    f->map_size = size;
    *out = f;
    return NT5_OK;
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    for (size_t i = 0; f->kvs && i < f->n_kv; i++) {
        free(f->kvs[i].key);
        free(f->kvs[i].offsets);
    }
    for (size_t i = 0; f->tensors && i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->kvs);
    free(f->kv_by_key);
    free(f->tensors);
    free(f->by_name);
    if (f->map) munmap((void *)f->map, f->map_size);
    free(f);
}

uint32_t gguf_version(const gguf_file *f) { return f->version; }
size_t gguf_kv_count(const gguf_file *f) { return f->n_kv; }
const char *gguf_kv_key(const gguf_file *f, size_t i) { return i < f->n_kv ? f->kvs[i].key : NULL; }
const gguf_value *gguf_kv_value(const gguf_file *f, size_t i) { return i < f->n_kv ? &f->kvs[i].value : NULL; }

const gguf_value *gguf_get(const gguf_file *f, const char *key) {
    const kv_entry *const *e = bsearch(key, f->kv_by_key, f->n_kv, sizeof *f->kv_by_key, kv_match);
    return e ? &(*e)->value : NULL;
}

size_t gguf_tensor_count(const gguf_file *f) { return f->n_tensors; }
const gguf_tensor *gguf_tensor_at(const gguf_file *f, size_t i) {
    return i < f->n_tensors ? &f->tensors[i].tensor : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    const tensor_entry *const *e = bsearch(name, f->by_name, f->n_tensors, sizeof *f->by_name, name_match);
    return e ? &(*e)->tensor : NULL;
}

/* Where element i of v begins, or NULL when there is no such element. */
static const uint8_t *element(const gguf_value *v, uint64_t i) {
    if (!v || i >= v->count) return NULL;
    if (v->elem_type == GGUF_TYPE_STRING) return v->data + (v->str_offsets ? v->str_offsets[i] : 0);
    return v->data + (size_t)i * value_size[v->elem_type];
}

int gguf_value_i64(const gguf_value *v, uint64_t i, int64_t *out) {
    const uint8_t *p = element(v, i);
    if (!p) return 0;
    switch (v->elem_type) {
    case GGUF_TYPE_UINT8: *out = p[0]; return 1;
    case GGUF_TYPE_INT8: *out = (int8_t)p[0]; return 1;
    case GGUF_TYPE_UINT16: *out = le16(p); return 1;
    case GGUF_TYPE_INT16: *out = (int16_t)le16(p); return 1;
    case GGUF_TYPE_UINT32: *out = le32(p); return 1;
    case GGUF_TYPE_INT32: *out = (int32_t)le32(p); return 1;
    case GGUF_TYPE_INT64: *out = (int64_t)le64(p); return 1;
    case GGUF_TYPE_UINT64:
        if (le64(p) > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)le64(p);
        return 1;
    default: return 0;
    }
}

int gguf_value_f64(const gguf_value *v, uint64_t i, double *out) {
    const uint8_t *p = element(v, i);
    if (!p) return 0;
    if (v->elem_type == GGUF_TYPE_FLOAT32) {
        uint32_t u = le32(p);
        float x;
        memcpy(&x, &u, sizeof x);
        *out = x;
        return 1;
    }
    if (v->elem_type == GGUF_TYPE_FLOAT64) {
        uint64_t u = le64(p);
        memcpy(out, &u, sizeof *out);
        return 1;
    }
    return 0;
}

int gguf_value_bool(const gguf_value *v, uint64_t i, int *out) {
    const uint8_t *p = element(v, i);
    if (!p || v->elem_type != GGUF_TYPE_BOOL) return 0;
    *out = p[0] != 0;
    return 1;
}

int gguf_value_string(const gguf_value *v, uint64_t i, gguf_str *out) {
    const uint8_t *p = element(v, i);
    if (!p || v->elem_type != GGUF_TYPE_STRING) return 0;
    out->len = (size_t)le64(p);
    out->ptr = (const char *)p + 8;
    return 1;
}

/* The scalar value of key, or NULL. */
static const gguf_value *scalar(const gguf_file *f, const char *key) {
    const gguf_value *v = gguf_get(f, key);
    return v && v->type != GGUF_TYPE_ARRAY ? v : NULL;
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out) {
    int64_t x;
    if (!gguf_value_i64(scalar(f, key), 0, &x) || x < 0 || x > (int64_t)UINT32_MAX) return 0;
    *out = (uint32_t)x;
    return 1;
}

int gguf_get_f32(const gguf_file *f, const char *key, float *out) {
    double x;
    if (!gguf_value_f64(scalar(f, key), 0, &x)) return 0;
    *out = (float)x;
    return 1;
}

int gguf_get_bool(const gguf_file *f, const char *key, int *out) { return gguf_value_bool(scalar(f, key), 0, out); }

int gguf_get_string(const gguf_file *f, const char *key, gguf_str *out) {
    return gguf_value_string(scalar(f, key), 0, out);
}

const gguf_value *gguf_get_array(const gguf_file *f, const char *key, uint32_t *elem_type, uint64_t *count) {
    const gguf_value *v = gguf_get(f, key);
    if (!v || v->type != GGUF_TYPE_ARRAY) return NULL;
    if (elem_type) *elem_type = v->elem_type;
    if (count) *count = v->count;
    return v;
}

int gguf_str_is(gguf_str s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && (n == 0 || memcmp(s.ptr, z, n) == 0);
}

char *gguf_str_dup(gguf_str s) {
    char *c = malloc(s.len + 1);
    if (!c) return NULL;
    if (s.len) memcpy(c, s.ptr, s.len);
    c[s.len] = '\0';
    return c;
}
