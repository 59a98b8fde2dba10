#include "format/checkpoint.h"

#include <cjson/cJSON.h>
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

static nt5_status open_sharded(const char *dir, const char *index_path, int encoder_only, checkpoint *ck) {
    cJSON *root;
    nt5_status st = json_read_file(index_path, &root);
    if (st != NT5_OK) return st;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(root);
        return err_set(NT5_ERR_FORMAT, "%s: \"weight_map\" is missing or not an object", index_path);
    }
    /* open each distinct shard once, in order of first appearance */
    for (const cJSON *it = map->child; it && st == NT5_OK; it = it->next) {
        if (!cJSON_IsString(it) || !is_plain_file_name(it->valuestring)) {
            st = err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" maps to an invalid shard file name", index_path,
                         it->string);
            break;
        }
        int seen = 0, needed = !encoder_only;
        for (const cJSON *p = map->child; p != it; p = p->next) seen |= strcmp(p->valuestring, it->valuestring) == 0;
        if (seen) continue;
        for (const cJSON *p = it; p && !needed; p = p->next)
            needed = strcmp(p->valuestring, it->valuestring) == 0 && hf_name_needed_by_encoder(p->string);
        if (!needed) continue; /* a decoder-only shard */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, it->valuestring);
        st = add_file(ck, path);
        if (st != NT5_OK) err_wrap(st, "shard listed in %s", index_path);
    }
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
        if (access(path, F_OK) != 0) continue;
        nt5_status st = choices[i].index ? open_sharded(dir, path, encoder_only, ck) : add_file(ck, path);
        if (st != NT5_OK) ckpt_close(ck);
        return st;
    }
    return err_set(NT5_ERR_NOT_FOUND, "%s has no model.safetensors, pytorch_model.bin or an index of their shards",
                   dir);
}

const st_tensor *ckpt_find(const checkpoint *ck, const char *name) {
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
