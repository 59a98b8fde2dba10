#include "corpus_output.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "growth.h"
#include "output_files.h"

#define MANIFEST_FORMAT "nt5 corpus 1"

static void join(const corpus_output *o, const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", o->dir, name);
}

void corpus_shard_path(const corpus_output *o, uint64_t k, char *buf, size_t cap) {
    char name[64];
    snprintf(name, sizeof name, "shard-%05llu.safetensors", (unsigned long long)k);
    join(o, name, buf, cap);
}

/* Makes dir and its missing parents; 0 or -1 (errno). */
static int make_dirs(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static cJSON *read_json(const char *path) {
    char *text = read_whole_file(path, NULL);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    return doc;
}

static int write_manifest(const corpus_output *o) {
    char path[4200], tmp[4300];
    join(o, "manifest.json", path, sizeof path);
    char *text = cJSON_Print(o->manifest);
    FILE *f = text ? open_temp(path, tmp, sizeof tmp) : NULL;
    int rc = f ? finish_temp(f, tmp, path, fputs(text, f) >= 0 && fputc('\n', f) != EOF) : 1;
    if (!text) fprintf(stderr, "nt5 encode: out of memory writing %s\n", path);
    free(text);
    return rc;
}

/* Walks dir: removes what an interrupted run left half-written (our
 * temporaries) and counts the other entries. */
static size_t tidy(const char *dir) {
    DIR *d = opendir(dir);
    size_t others = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!strstr(e->d_name, ".tmp.")) {
            others++;
            continue;
        }
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    return others;
}

/* Compares a run's manifest with this run's identity: 0 when it is the same
 * run, else 1 with what differs printed. */
static int same_run(const cJSON *manifest, const cJSON *identity, const char *dir) {
    const cJSON *item;
    cJSON_ArrayForEach(item, identity) {
        const cJSON *stored = cJSON_GetObjectItemCaseSensitive(manifest, item->string);
        if (cJSON_Compare(stored, item, 1)) continue;
        char *was = stored ? cJSON_PrintUnformatted(stored) : NULL, *now = cJSON_PrintUnformatted(item);
        fprintf(stderr,
                "nt5 encode: %s holds a run with another %s (%s, now %s); resume it with the same model and "
                "options, or write to a new directory\n",
                dir, item->string, was ? was : "none", now ? now : "?");
        free(was);
        free(now);
        return 1;
    }
    return 0;
}

int corpus_output_open(corpus_output *o, const char *dir, cJSON *identity) {
    memset(o, 0, sizeof *o);
    o->dir = dir;
    char path[4200];
    join(o, "manifest.json", path, sizeof path);
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "nt5 encode: cannot make %s: %s\n", dir, strerror(errno));
        cJSON_Delete(identity);
        return 1;
    }
    size_t entries = tidy(dir);
    o->manifest = read_json(path);
    if (!o->manifest && entries) {
        fprintf(stderr,
                "nt5 encode: %s is not empty and holds no nt5 corpus run (manifest.json); write to a "
                "new directory\n",
                dir);
        cJSON_Delete(identity);
        return 1;
    }
    if (o->manifest) {
        const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o->manifest, "format"));
        int rc = !format || strcmp(format, MANIFEST_FORMAT) != 0 ? 1 : same_run(o->manifest, identity, dir);
        if (rc && (!format || strcmp(format, MANIFEST_FORMAT) != 0))
            fprintf(stderr, "nt5 encode: %s has a manifest.json of another kind\n", dir);
        cJSON_Delete(identity);
        if (rc) return 1;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o->manifest, "complete"))) return 3;
    } else {
        o->manifest = identity;
        cJSON_AddStringToObject(o->manifest, "format", MANIFEST_FORMAT);
        cJSON_AddBoolToObject(o->manifest, "complete", 0);
        if (write_manifest(o)) return 1;
    }
    for (struct stat st;; o->shards++) {
        corpus_shard_path(o, o->shards, path, sizeof path);
        if (stat(path, &st) != 0) break;
    }
    join(o, "index.jsonl", path, sizeof path);
    if ((o->index = fopen(path, "a+")) != NULL) return 0;
    fprintf(stderr, "nt5 encode: cannot open %s: %s\n", path, strerror(errno));
    return 1;
}

int corpus_index_queue(corpus_output *o, const char *line) {
    size_t n = strlen(line);
    if (grow_array(&o->pending, &o->pending_cap, o->pending_len + n + 2, 1)) return -1;
    memcpy(o->pending + o->pending_len, line, n);
    o->pending[o->pending_len + n] = '\n';
    o->pending_len += n + 1;
    return 0;
}

int corpus_index_flush(corpus_output *o) {
    int ok = fseek(o->index, 0, SEEK_END) == 0 && fwrite(o->pending, 1, o->pending_len, o->index) == o->pending_len &&
             fflush(o->index) == 0 && fsync(fileno(o->index)) == 0;
    o->pending_len = 0;
    if (ok) return 0;
    fprintf(stderr, "nt5 encode: cannot write %s/index.jsonl: %s\n", o->dir, strerror(errno));
    return 1;
}

int corpus_output_complete(corpus_output *o, cJSON *totals) {
    cJSON_ReplaceItemInObjectCaseSensitive(o->manifest, "complete", cJSON_CreateTrue());
    cJSON_DeleteItemFromObjectCaseSensitive(o->manifest, "totals");
    cJSON_AddItemToObject(o->manifest, "totals", totals);
    return write_manifest(o);
}

void corpus_output_close(corpus_output *o) {
    if (o->index) fclose(o->index);
    free(o->pending);
    cJSON_Delete(o->manifest);
    memset(o, 0, sizeof *o);
}
