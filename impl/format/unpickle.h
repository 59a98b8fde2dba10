/* A restricted unpickler for PyTorch state dicts (pickle protocol 2): it
 * builds values, never calls anything, and accepts only the globals a state
 * dict needs (collections.OrderedDict, torch._utils._rebuild_tensor(_v2),
 * _rebuild_parameter and the torch.*Storage types). */
#ifndef NT5_HUB_UNPICKLE_H
#define NT5_HUB_UNPICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

#define PICKLE_MAX_DIMS 8

/* One tensor of the state dict: a view of a storage. */
typedef struct pickled_tensor {
    char *name;
    char *storage_key;     /* P/data/<key> */
    int dtype;             /* NT5_DTYPE_F32/F16/BF16, or -1 for another type */
    char dtype_name[24];   /* e.g. "FloatStorage" */
    int64_t storage_numel; /* elements in the storage */
    int64_t offset;        /* in elements */
    int ndim;
    int64_t shape[PICKLE_MAX_DIMS], stride[PICKLE_MAX_DIMS];
} pickled_tensor;

typedef struct pickled_state {
    pickled_tensor *tensors;
    size_t count;
} pickled_state;

/* Parses data.pkl; what names the file in errors. */
nt5_status unpickle_state_dict(const uint8_t *data, size_t len, const char *what, pickled_state *out);
void pickled_state_free(pickled_state *s);

#endif
