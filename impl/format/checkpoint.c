#include "format/checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json_file.h"
#include "format/torch_bin.h"
#include "format/weight_names.h"

static nt5_status add_file(checkpoint *ck, const char *path) {
    st_file **grown = realloc(ck->files, (ck->count + 1) * sizeof *grown);
    if (!grown) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    ck->files = grown;
    size_t n = strlen(path);
    int torch = n > 4 && strcmp(path + n - 4, ".bin") == 0;
    nt5_status st = torch ? torch_bin_open(path, &ck->files[ck->count]) : st_open(path, &ck->files[ck->count]);
    if (st == NT5_OK) ck->count++;
    return st;
}

/* A shard name from an index must be a plain file name in the directory. */
static int is_plain_file_name(const char *name) {
    return name[0] && name[0] != '.' && !strchr(name, '/') && !strchr(name, '\\') && strlen(name) < 256;
}

/* A shard an index names: where it first appears, and whether the open
 * needs it (an encoder-only open skips shards of decoder tensors alone). */
typedef struct shard_ref {
    const char *name;
    size_t first;
    int needed;
} shard_ref;

static int by_name_then_first(const void *a, const void *b) {
    const shard_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->first > y->first) - (x->first < y->first);
}

static int by_first(const void *a, const void *b) {
    const shard_ref *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* The distinct shards of weight_map in order of first appearance, into
 * refs[*n] (sorting, so a large index costs n log n). */
static nt5_status list_shards(const char *index_path, const cJSON *map, int encoder_only, shard_ref *refs, size_t *n) {
    size_t count = 0;
    for (const cJSON *it = map->child; it; it = it->next) {
        if (!cJSON_IsString(it) || !is_plain_file_name(it->valuestring))
            return err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" maps to an invalid shard file name", index_path,
                           it->string);
        refs[count] = (shard_ref){it->valuestring, count, !encoder_only || hf_name_needed_by_encoder(it->string)};
        count++;
    }
    qsort(refs, count, sizeof *refs, by_name_then_first);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++) {
        if (distinct && strcmp(refs[distinct - 1].name, refs[i].name) == 0) refs[distinct - 1].needed |= refs[i].needed;
        else refs[distinct++] = refs[i];
    }
    qsort(refs, distinct, sizeof *refs, by_first);
    *n = distinct;
    return NT5_OK;
}

static nt5_status open_sharded(const char *dir, const char *index_path, int encoder_only, checkpoint *ck) {
    cJSON *root;
    nt5_status st = json_read_file(index_path, &root);
    if (st != NT5_OK) return st;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    shard_ref *refs = NULL;
    size_t n = 0;
    if (!cJSON_IsObject(map))
        st = err_set(NT5_ERR_FORMAT, "%s: \"weight_map\" is missing or not an object", index_path);
    else if (!(refs = malloc(((size_t)cJSON_GetArraySize(map) + 1) * sizeof *refs)))
        st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    else st = list_shards(index_path, map, encoder_only, refs, &n);
    for (size_t i = 0; i < n && st == NT5_OK; i++) {
        if (!refs[i].needed) continue; /* a decoder-only shard */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, refs[i].name);
        st = add_file(ck, path);
        if (st != NT5_OK) err_wrap(st, "shard listed in %s", index_path);
    }
    free(refs);
    cJSON_Delete(root);
    return st;
}

/* The Hub's order of preference: safetensors, sharded safetensors, PyTorch
 * .bin, sharded .bin. */
nt5_status ckpt_open_dir(const char *dir, int encoder_only, checkpoint *ck) {
    static const struct {
        const char *name;
        int index;
    } choices[] = {{"model.safetensors", 0},
                   {"model.safetensors.index.json", 1},
                   {"pytorch_model.bin", 0},
                   {"pytorch_model.bin.index.json", 1}};
    memset(ck, 0, sizeof *ck);
    char path[4096];
    for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, choices[i].name);
        if (access(path, F_OK) != 0) {
            if (errno == ENOENT) continue;
            /* there, but not to be read (a symbolic link loop, no permission): not "missing" */
            return err_set(NT5_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        }
        nt5_status st = choices[i].index ? open_sharded(dir, path, encoder_only, ck) : add_file(ck, path);
        if (st != NT5_OK) ckpt_close(ck);
        return st;
    }
    return err_set(NT5_ERR_NOT_FOUND, "%s has no model.safetensors, pytorch_model.bin or an index of their shards",
                   dir);
}

/* The prefix of the one T5 encoder among f's tensors. */
static nt5_status find_prefix(const st_file *f, char prefix[CKPT_PREFIX_MAX]) {
    static const char marker[] = "encoder.final_layer_norm.weight";
    const size_t m = sizeof marker - 1;
    const char *found = NULL;
    size_t found_len = 0;
    for (size_t i = 0; i < f->count; i++) {
        const char *name = f->tensors[i].name;
        size_t n = strlen(name);
        if (n < m || strcmp(name + n - m, marker) != 0 || (n > m && name[n - m - 1] != '.')) continue;
        if (found && (n - m != found_len || strncmp(name, found, found_len) != 0))
            return err_set(NT5_ERR_FORMAT, "%s holds more than one T5 encoder (\"%.*s\" and \"%.*s\")", f->path,
                           (int)found_len, found, (int)(n - m), name);
        found = name;
        found_len = n - m;
    }
    if (!found)
        return err_set(NT5_ERR_FORMAT,
                       "%s is not a T5 checkpoint: no tensor is named encoder.final_layer_norm.weight "
                       "(under any prefix)",
                       f->path);
    if (found_len >= CKPT_PREFIX_MAX)
        return err_set(NT5_ERR_FORMAT, "%s: the prefix of its T5 tensors is over %d bytes", f->path,
                       CKPT_PREFIX_MAX - 1);
    memcpy(prefix, found, found_len);
    prefix[found_len] = '\0';
    return NT5_OK;
}

nt5_status ckpt_adopt_file(st_file *f, checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    if (!(ck->files = malloc(sizeof *ck->files))) {
        st_close(f);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    ck->files[ck->count++] = f;
    nt5_status st = find_prefix(f, ck->prefix);
    if (st != NT5_OK) ckpt_close(ck);
    return st;
}

const st_tensor *ckpt_find(const checkpoint *ck, const char *name) {
    char full[CKPT_PREFIX_MAX + 256];
    if (ck->prefix[0]) {
        if ((size_t)snprintf(full, sizeof full, "%s%s", ck->prefix, name) >= sizeof full) return NULL;
        name = full;
    }
    for (size_t i = 0; i < ck->count; i++) {
        const st_tensor *t = st_find(ck->files[i], name);
        if (t) return t;
    }
    return NULL;
}

void ckpt_close(checkpoint *ck) {
    for (size_t i = 0; i < ck->count; i++) st_close(ck->files[i]);
    free(ck->files);
    ck->files = NULL;
    ck->count = 0;
}
