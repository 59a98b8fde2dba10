#include "format/torch_bin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unzip.h>

#include "base/error.h"
#include "base/regular_file.h"
#include "format/unpickle.h"

typedef struct record {
    char name[512];
    uint64_t offset, size; /* of the stored bytes in the file */
} record;

typedef struct archive {
    record *records;
    size_t count;
    char prefix[256]; /* "P/" */
} archive;

/* Lists the stored records and where their bytes are in the file. */
static nt5_status list_records(const char *path, uint64_t file_size, archive *a) {
    unzFile z = unzOpen64(path);
    if (!z) return err_set(NT5_ERR_FORMAT, "%s is not a zip archive (a legacy or damaged PyTorch file?)", path);
    nt5_status st = NT5_OK;
    size_t cap = 0;
    for (int rc = unzGoToFirstFile(z); rc == UNZ_OK && st == NT5_OK; rc = unzGoToNextFile(z)) {
        unz_file_info64 info;
        char name[512];
        /* minizip leaves the name unterminated when it fills the buffer */
        memset(name, 0, sizeof name);
        if (unzGetCurrentFileInfo64(z, &info, name, sizeof name - 1, NULL, 0, NULL, 0) != UNZ_OK) {
            st = err_set(NT5_ERR_FORMAT, "%s: unreadable zip entry", path);
            break;
        }
        if (info.size_filename >= sizeof name - 1) {
            st = err_set(NT5_ERR_FORMAT, "%s: a zip entry name is longer than %zu bytes", path, sizeof name - 2);
            break;
        }
        if (a->count == 0) {
            const char *slash = strchr(name, '/');
            if (!slash || (size_t)(slash - name) + 2 > sizeof a->prefix) {
                st = err_set(NT5_ERR_FORMAT, "%s: zip entries are not under one folder as torch.save writes them",
                             path);
                break;
            }
            snprintf(a->prefix, sizeof a->prefix, "%.*s/", (int)(slash - name), name);
        }
        if (strncmp(name, a->prefix, strlen(a->prefix)) != 0) {
            st = err_set(NT5_ERR_FORMAT, "%s: entry \"%s\" is outside %s", path, name, a->prefix);
            break;
        }
        if (info.compression_method != 0) {
            st = err_set(NT5_ERR_UNSUPPORTED, "%s: entry \"%s\" is compressed; torch.save stores entries", path, name);
            break;
        }
        if (unzOpenCurrentFile(z) != UNZ_OK) {
            st = err_set(NT5_ERR_FORMAT, "%s: cannot open entry \"%s\"", path, name);
            break;
        }
        uint64_t offset = unzGetCurrentFileZStreamPos64(z);
        unzCloseCurrentFile(z);
        if (offset > file_size || info.uncompressed_size > file_size - offset) {
            st = err_set(NT5_ERR_FORMAT, "%s: entry \"%s\" runs past the end of the file", path, name);
            break;
        }
        if (a->count == cap) {
            cap = cap ? 2 * cap : 64;
            record *grown = realloc(a->records, cap * sizeof *grown);
            if (!grown) {
                st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            a->records = grown;
        }
        record *r = &a->records[a->count++];
        snprintf(r->name, sizeof r->name, "%s", name + strlen(a->prefix));
        r->offset = offset;
        r->size = info.uncompressed_size;
    }
    unzClose(z);
    return st;
}

static const record *find_record(const archive *a, const char *name) {
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->records[i].name, name) == 0) return &a->records[i];
    return NULL;
}

static size_t element_size(int dtype) { return dtype == NT5_DTYPE_F32 ? 4 : 2; }

/* A pickled tensor as a table entry: contiguous, inside its storage record. */
static nt5_status to_entry(const char *path, const archive *a, const uint8_t *map, const pickled_tensor *p,
                           st_tensor *t) {
    t->name = strdup(p->name);
    if (!t->name) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    t->ndim = p->ndim;
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", p->dtype_name);
    t->dtype = p->dtype == NT5_DTYPE_F32    ? ST_F32
               : p->dtype == NT5_DTYPE_F16  ? ST_F16
               : p->dtype == NT5_DTYPE_BF16 ? ST_BF16
                                            : ST_OTHER;
    if (t->dtype == ST_OTHER) return NT5_OK; /* refused if it is ever read */
    uint64_t numel = 1, expect = 1;
    for (int d = p->ndim - 1; d >= 0; d--) {
        if (p->shape[d] < 0)
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" has a negative dimension (%lld)", path, p->name,
                           (long long)p->shape[d]);
        if (p->shape[d] > 1 && p->stride[d] != (int64_t)expect)
            return err_set(NT5_ERR_UNSUPPORTED, "%s: tensor \"%s\" is not contiguous", path, p->name);
        t->shape[d] = p->shape[d];
        expect *= (uint64_t)p->shape[d];
        if (p->shape[d] && numel > UINT64_MAX / (uint64_t)p->shape[d])
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" is too large", path, p->name);
        numel *= (uint64_t)p->shape[d];
    }
    char key[600];
    snprintf(key, sizeof key, "data/%s", p->storage_key);
    const record *r = find_record(a, key);
    size_t es = element_size(p->dtype);
    if (!r) return err_set(NT5_ERR_FORMAT, "%s: storage %s of tensor \"%s\" is missing", path, key, p->name);
    /* divisions, not products: a storage of 2^62 elements must not wrap to 0 bytes */
    if (p->offset < 0 || p->storage_numel < 0 || (uint64_t)p->storage_numel > r->size / es ||
        (uint64_t)p->offset > (uint64_t)p->storage_numel || numel > (uint64_t)p->storage_numel - (uint64_t)p->offset)
        return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" runs past its storage", path, p->name);
    t->data = map + r->offset + (uint64_t)p->offset * es;
    t->nbytes = (size_t)(numel * es);
    return NT5_OK;
}

nt5_status torch_bin_open(const char *path, st_file **out) {
    const uint8_t *map = NULL;
    size_t size = 0;
    nt5_status mapped = regular_file_map(path, &map, &size);
    if (mapped != NT5_OK) return mapped;
    if (size < 4 || memcmp(map, "PK\x03\x04", 4) != 0) {
        if (map) munmap((void *)map, size);
        return err_set(NT5_ERR_UNSUPPORTED,
                       "%s is not a zip-format PyTorch checkpoint (the legacy pre-1.6 format "
                       "is not supported)",
                       path);
    }
    archive a = {0};
    pickled_state state = {0};
    st_file *f = calloc(1, sizeof *f);
    nt5_status st = f ? list_records(path, size, &a) : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    const record *pkl = st == NT5_OK ? find_record(&a, "data.pkl") : NULL;
    if (st == NT5_OK && !pkl) st = err_set(NT5_ERR_FORMAT, "%s has no data.pkl: not a torch.save archive", path);
    if (st == NT5_OK) st = unpickle_state_dict(map + pkl->offset, (size_t)pkl->size, path, &state);
    if (st == NT5_OK && !(f->tensors = calloc(state.count + 1, sizeof *f->tensors)))
        st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; st == NT5_OK && i < state.count; i++) {
        st = to_entry(path, &a, map, &state.tensors[i], &f->tensors[i]);
        f->count = i + 1;
    }
    pickled_state_free(&state);
    free(a.records);
    if (f) {
        f->map = (void *)map;
        f->map_size = size;
        f->path = strdup(path);
    } else {
        munmap((void *)map, size);
    }
    if (st == NT5_OK && !f->path) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st != NT5_OK) {
        st_close(f);
        return st;
    }
    *out = f;
    return NT5_OK;
}
