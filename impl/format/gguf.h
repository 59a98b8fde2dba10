/* A validating GGUF reader (llama.cpp's format, versions 2 and 3,
 * little-endian) over mmap or a caller's buffer. Every count, length and
 * offset is checked against the file before anything is handed out: all
 * 13 metadata value types (arrays of arrays are refused), general.alignment,
 * tensors of 1 to 4 dimensions of ggml types (format/gguf_quants.h) whose
 * rows are whole blocks, aligned, inside the file and not overlapping, no key
 * or tensor name twice. Values and tensor data point into the file; a
 * gguf_file is immutable, so threads may read one at once. */
#ifndef NT5_IMPL_GGUF_H
#define NT5_IMPL_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

/* Metadata value types, numbered as in the file. */
enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
};

/* A string of the file: len bytes at ptr, not NUL-terminated, any bytes
 * (print it with "%.*s" and a clamped length, or copy it with gguf_str_dup). */
typedef struct gguf_str {
    const char *ptr;
    size_t len;
} gguf_str;

/* A metadata value: a scalar is one element of its type, an array `count`
 * elements of `elem_type`. Read the elements with gguf_value_*. */
typedef struct gguf_value {
    uint32_t type;             /* GGUF_TYPE_*; GGUF_TYPE_ARRAY for an array */
    uint32_t elem_type;        /* the elements' type (never ARRAY); a scalar's own type */
    uint64_t count;            /* elements; 1 for a scalar */
    const uint8_t *data;       /* the first element in the file */
    const size_t *str_offsets; /* arrays of strings: [count], where each element begins
                                   (its 64-bit length) from data; NULL otherwise */
} gguf_value;

/* A tensor of the file. Its data are rows of ne[0] elements, each a whole
 * number of blocks of `type`, rows in order of ne[1], then ne[2], ne[3]. */
typedef struct gguf_tensor {
    const char *name;    /* NUL-terminated (names holding a NUL byte are refused) */
    uint32_t type;       /* ggml type id, GGML_TYPE_* (format/gguf_quants.h) */
    uint32_t n_dims;     /* 1..4 */
    uint64_t ne[4];      /* sizes in ggml order: ne[0] is the row length (innermost), so a
                            PyTorch Linear weight [out, in] has ne = {in, out}; unused ones are 1 */
    uint64_t n_elements; /* ne[0] * ne[1] * ne[2] * ne[3], below 2^63 */
    const uint8_t *data; /* the raw blocks, in the mapping or the caller's buffer */
    size_t nbytes;       /* n_elements / block size * bytes per block */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Maps the regular file at path and checks it (as gguf_parse, naming the
 * path in messages). NT5_ERR_FORMAT for a malformed file; NT5_ERR_NOT_FOUND,
 * NT5_ERR_IO as regular_file_map. */
nt5_status gguf_open(const char *path, gguf_file **out);
/* The same checks on bytes[size], which the caller keeps alive and unchanged
 * until gguf_close; `what` names it in messages. */
nt5_status gguf_parse(const uint8_t *bytes, size_t size, const char *what, gguf_file **out);
/* Frees f (and unmaps what gguf_open mapped); NULL is fine. */
void gguf_close(gguf_file *f);
uint32_t gguf_version(const gguf_file *f);

/* The metadata in file order: key i (NUL-terminated) and its value, i < gguf_kv_count. */
size_t gguf_kv_count(const gguf_file *f);
const char *gguf_kv_key(const gguf_file *f, size_t i);
const gguf_value *gguf_kv_value(const gguf_file *f, size_t i);
/* The value of `key`, or NULL (a binary search). */
const gguf_value *gguf_get(const gguf_file *f, const char *key);

/* Element i (< count) of v into *out; 1 if it is of a fitting type, else 0
 * with *out untouched. i64: any integer type whose value fits (not BOOL);
 * f64: FLOAT32 or FLOAT64; bool: BOOL (any nonzero byte is true); string:
 * STRING. Each is O(1). */
int gguf_value_i64(const gguf_value *v, uint64_t i, int64_t *out);
int gguf_value_f64(const gguf_value *v, uint64_t i, double *out);
int gguf_value_bool(const gguf_value *v, uint64_t i, int *out);
int gguf_value_string(const gguf_value *v, uint64_t i, gguf_str *out);

/* A scalar `key` into *out: 1 if present and of a fitting type, else 0 with
 * *out untouched. u32: any integer type with a value in 0..2^32-1; f32:
 * FLOAT32, or FLOAT64 rounded; bool: BOOL; string: STRING. */
int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
int gguf_get_f32(const gguf_file *f, const char *key, float *out);
int gguf_get_bool(const gguf_file *f, const char *key, int *out);
int gguf_get_string(const gguf_file *f, const char *key, gguf_str *out);
/* The array `key` (its element type and count into the outputs, either may
 * be NULL), or NULL when absent or not an array. */
const gguf_value *gguf_get_array(const gguf_file *f, const char *key, uint32_t *elem_type, uint64_t *count);

/* s equals the C string z (all of s, no NUL byte in it). */
int gguf_str_is(gguf_str s, const char *z);
/* s with a NUL appended (malloc, the caller frees), NULL when out of memory. */
char *gguf_str_dup(gguf_str s);

/* The tensors in file order, and one by name (a binary search; NULL when absent). */
size_t gguf_tensor_count(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, size_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

#endif
