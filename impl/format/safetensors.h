/* A validating safetensors reader over mmap. */
#ifndef NT5_IMPL_SAFETENSORS_H
#define NT5_IMPL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

#define ST_MAX_DIMS 8

typedef enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_F8_E4M3, ST_F8_E5M2, ST_U8, ST_OTHER } st_dtype;

typedef struct st_tensor {
    char *name;
    st_dtype dtype;
    char dtype_name[24];
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const uint8_t *data; /* points into the mapping */
    size_t nbytes;
} st_tensor;

typedef struct st_file {
    char *path;
    struct cJSON *metadata; /* the "__metadata__" object, or NULL */
    void *map;
    size_t map_size;
    st_tensor *tensors;
    size_t count;
} st_file;

/* Maps and validates `path`: header length within the file, JSON header,
 * known dtypes with matching byte sizes, offsets inside the data section and
 * not overlapping. */
nt5_status st_open(const char *path, st_file **out);
/* Same checks on a buffer the caller keeps alive (used by tests and fuzzing). */
nt5_status st_parse(const uint8_t *bytes, size_t size, const char *what, st_file **out);
const st_tensor *st_find(const st_file *f, const char *name);
/* A string value of the metadata, or NULL. */
const char *st_metadata(const st_file *f, const char *key);
void st_close(st_file *f);

#endif
