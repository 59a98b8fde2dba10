/* Public entry points that reach the Hub: model ids in nt5_model_open and
 * nt5_hub_download. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_hub.h"
#include "error.h"
#include "hub_download.h"
#include "hub_repo.h"
#include "model.h"

/* Snapshot directory of a Hub model, per the hub fields of o. */
static nt5_status fetch(const char *id, const nt5_model_options *o, char *dir, size_t cap) {
    hub_env env;
    nt5_status st = hub_env_load(o->cache_dir, o->token, o->offline, &env);
    if (st != NT5_OK) return st;
    hub_request req = {id, o->revision, o->encoder_only, o->on_progress, o->progress_user_data};
    st = hub_fetch_model(&env, &req, dir, cap);
    hub_env_free(&env);
    return st;
}

/* "id@commit" from a snapshot directory (.../snapshots/<commit>) or an
 * encoder part (.../<commit>/encoder). */
static char *source_of(const char *id, const char *dir) {
    const char *end = dir + strlen(dir), *base = strrchr(dir, '/');
    if (base && strcmp(base, "/encoder") == 0) {
        end = base;
        while (base > dir && *--base != '/') {
        }
    }
    base = base ? base + 1 : dir;
    size_t n = strlen(id) + (size_t)(end - base) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s@%.*s", id, (int)(end - base), base);
    return s;
}

nt5_status model_open_id(const char *id, const nt5_model_options *o, nt5_model **out) {
    char dir[4096];
    nt5_status st = fetch(id, o, dir, sizeof dir);
    if (st == NT5_OK) st = model_open_path(dir, o, out);
    if (st == NT5_OK && !(*out)->source) (*out)->source = source_of(id, dir);
    return st;
}

nt5_status hub_download_checked(const char *id, const nt5_model_options *o, char *dir, size_t capacity, size_t *length) {
    char snapshot[4096];
    nt5_status st = fetch(id, o, snapshot, sizeof snapshot);
    if (st != NT5_OK) return st;
    size_t n = strlen(snapshot);
    if (length) *length = n;
    if (n + 1 > capacity) return err_set(NT5_ERR_BUFFER_TOO_SMALL, "the path needs %zu bytes", n + 1);
    memcpy(dir, snapshot, n + 1);
    return NT5_OK;
}
