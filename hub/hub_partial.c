#include "hub/hub_partial.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json_file.h"
#include "format/safetensors.h"
#include "format/weight_names.h"

#define PATH_CAP 4096
#define HEADER_LIMIT (100u << 20)

void hub_partial_dir(const hub_repo_cache *rc, const char *commit, char *dir, size_t cap) {
    hub_cache_nt5_dir(rc, commit, "encoder", dir, cap);
}

int hub_partial_ready(const hub_repo_cache *rc, const char *commit) {
    char dir[PATH_CAP], path[PATH_CAP + 32];
    hub_partial_dir(rc, commit, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return access(path, F_OK) == 0;
}

/* Appends bytes [start, end] of the remote file to fd. */
static nt5_status fetch_range(const hub_env *env, const hub_request *req, const char *url, const http_meta *meta,
                              int fd, long long start, long long end) {
    off_t base = lseek(fd, 0, SEEK_END);
    char display[600];
    snprintf(display, sizeof display, "%s/model.safetensors (encoder part)", req->repo_id);
    http_sink sink = {fd, base, meta->size, display, req->progress, req->user_data, base, start, end};
    return hub_http_download(env, meta->location, hub_same_host(meta->location, url), &sink);
}

/* The remote header (after its 8-byte length) as parsed JSON. */
static nt5_status fetch_header(const hub_env *env, const hub_request *req, const char *url, const http_meta *meta,
                               const char *tmp, cJSON **header, uint64_t *hlen) {
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return err_set(NT5_ERR_IO, "cannot write the encoder part of %s: %s", req->repo_id, strerror(errno));
    unsigned char len8[8];
    nt5_status st = fetch_range(env, req, url, meta, fd, 0, 7);
    if (st == NT5_OK && pread(fd, len8, 8, 0) != 8) st = err_set(NT5_ERR_NETWORK, "%s: short header", url);
    *hlen = 0;
    for (int i = 7; st == NT5_OK && i >= 0; i--) *hlen = (*hlen << 8) | len8[i];
    if (st == NT5_OK && (*hlen > HEADER_LIMIT || (meta->size >= 0 && 8 + *hlen > (uint64_t)meta->size)))
        st = err_set(NT5_ERR_FORMAT, "%s: header length %llu does not fit the file", url, (unsigned long long)*hlen);
    if (st == NT5_OK) st = fetch_range(env, req, url, meta, fd, 8, 8 + (long long)*hlen - 1);
    char *text = NULL;
    if (st == NT5_OK && !(text = malloc(*hlen + 1))) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NT5_OK && pread(fd, text, *hlen, 8) != (ssize_t)*hlen)
        st = err_set(NT5_ERR_NETWORK, "%s: short header", url);
    if (st == NT5_OK) st = json_parse_object(text, *hlen, url, header);
    free(text);
    close(fd);
    unlink(tmp);
    return st;
}

typedef struct part_entry {
    const cJSON *item;
    long long begin, end;
} part_entry;

static int by_begin(const void *a, const void *b) {
    long long x = ((const part_entry *)a)->begin, y = ((const part_entry *)b)->begin;
    return (x > y) - (x < y);
}

/* Writes the header of the encoder part: the needed entries, renumbered. */
static nt5_status write_part_header(int fd, const part_entry *e, size_t n, const hub_request *req, const char *commit) {
    cJSON *out = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(out, "__metadata__");
    char source[600];
    snprintf(source, sizeof source, "%s@%s", req->repo_id, commit);
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "nt5_encoder_part_of", source);
    long long at = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *copy = cJSON_Duplicate(e[i].item, 1);
        cJSON *offs = cJSON_CreateArray();
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(at + e[i].end - e[i].begin)));
        cJSON_ReplaceItemInObjectCaseSensitive(copy, "data_offsets", offs);
        cJSON_AddItemToObject(out, e[i].item->string, copy);
        at += e[i].end - e[i].begin;
    }
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (!text) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = write(fd, len8, 8) == 8 && write(fd, text, len) == (ssize_t)len;
    for (size_t i = len; ok && i < padded; i++) ok = write(fd, " ", 1) == 1;
    free(text);
    return ok ? NT5_OK : err_set(NT5_ERR_IO, "cannot write the encoder part: %s", strerror(errno));
}

static nt5_status copy_small(const hub_repo_cache *rc, const char *commit, const char *dir, const char *name) {
    char from[PATH_CAP], to[PATH_CAP + 64];
    hub_cache_snapshot_path(rc, commit, name, from, sizeof from);
    if (access(from, F_OK) != 0) return NT5_OK; /* optional file */
    snprintf(to, sizeof to, "%s/%s", dir, name);
    char *data;
    size_t len;
    nt5_status st = file_read_all(from, &data, &len);
    if (st != NT5_OK) return st;
    FILE *f = fopen(to, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f) ok = fclose(f) == 0 && ok;
    free(data);
    return ok ? NT5_OK : err_set(NT5_ERR_IO, "cannot write %s", to);
}

nt5_status hub_partial_fetch(const hub_env *env, const hub_repo_cache *rc, const hub_request *req, const char *commit,
                             const char *url, const http_meta *meta) {
    char dir[PATH_CAP], tmp[PATH_CAP + 64], final_path[PATH_CAP + 64];
    nt5_status st = hub_cache_nt5_mkdir(rc, commit, "encoder", dir, sizeof dir);
    if (st != NT5_OK) return st;
    static const char *const small[] = {"config.json", "spiece.model", "tokenizer_config.json"};
    for (int i = 0; i < 3 && st == NT5_OK; i++) st = copy_small(rc, commit, dir, small[i]);
    snprintf(tmp, sizeof tmp, "%s/header.%d.part", dir, (int)getpid());
    cJSON *header = NULL;
    uint64_t hlen = 0;
    if (st == NT5_OK) st = fetch_header(env, req, url, meta, tmp, &header, &hlen);
    if (st != NT5_OK) return st;
    size_t n = 0, cap = (size_t)cJSON_GetArraySize(header);
    part_entry *e = calloc(cap + 1, sizeof *e);
    if (!e) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    for (const cJSON *it = header->child; it && st == NT5_OK; it = it->next) {
        if (!strcmp(it->string, "__metadata__") || !hf_name_needed_by_encoder(it->string)) continue;
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        double b = cJSON_GetNumberValue(cJSON_GetArrayItem(offs, 0)),
               en = cJSON_GetNumberValue(cJSON_GetArrayItem(offs, 1));
        if (!(b >= 0 && en >= b && (meta->size < 0 || 8 + (double)hlen + en <= (double)meta->size)))
            st = err_set(NT5_ERR_FORMAT, "%s: tensor \"%s\" has invalid data_offsets", url, it->string);
        else e[n++] = (part_entry){it, (long long)b, (long long)en};
    }
    qsort(e, n, sizeof *e, by_begin);
    snprintf(tmp, sizeof tmp, "%s/model.safetensors.%d.part", dir, (int)getpid());
    int fd = st == NT5_OK ? open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (st == NT5_OK && fd < 0)
        st = err_set(NT5_ERR_IO, "cannot write the encoder part of %s in %s: %s", req->repo_id, dir, strerror(errno));
    if (st == NT5_OK) st = write_part_header(fd, e, n, req, commit);
    for (size_t i = 0; i < n && st == NT5_OK; i++)
        if (e[i].end > e[i].begin)
            st = fetch_range(env, req, url, meta, fd, 8 + (long long)hlen + e[i].begin,
                             8 + (long long)hlen + e[i].end - 1);
    if (fd >= 0 && close(fd) != 0 && st == NT5_OK)
        st = err_set(NT5_ERR_IO, "cannot write the encoder part of %s in %s", req->repo_id, dir);
    free(e);
    cJSON_Delete(header);
    st_file *check = NULL;
    if (st == NT5_OK) st = st_open(tmp, &check); /* the part must be a valid safetensors file */
    st_close(check);
    snprintf(final_path, sizeof final_path, "%s/model.safetensors", dir);
    if (st == NT5_OK && rename(tmp, final_path) != 0)
        st = err_set(NT5_ERR_IO, "cannot store %s: %s", final_path, strerror(errno));
    if (st != NT5_OK) unlink(tmp);
    return st;
}
