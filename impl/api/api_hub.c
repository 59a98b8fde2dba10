/* The Hub for the public calls: model ids in nt5_model_open and
 * nt5_convert, and nt5_hub_download. */
#include "api/api_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_options.h"
#include "base/error.h"
#include "hub/hub_cache.h"
#include "hub/hub_download.h"
#include "hub/hub_repo.h"
#include "model/model.h"
#include "base/text_out.h"

/* The snapshot directory (or encoder part) of a Hub model and its commit,
 * per the hub fields of o. */
static nt5_status fetch(const hub_env *env, const char *id, const nt5_model_options *o, hub_snapshot *snap) {
    hub_request req = {id, o->revision, o->encoder_only, o->on_progress, o->progress_user_data};
    return hub_fetch_model(env, &req, snap->dir, sizeof snap->dir, snap->commit);
}

static nt5_status fetch_snapshot(const char *id, const nt5_model_options *o, hub_snapshot *snap) {
    hub_env env;
    nt5_status st = hub_env_load(o->cache_dir, o->token, o->offline, &env);
    if (st != NT5_OK) return st;
    st = fetch(&env, id, o, snap);
    hub_env_free(&env);
    return st;
}

nt5_status api_open_snapshot(const char *id, const hub_snapshot *snap, const nt5_model_options *o,
                             const load_transforms *tf, nt5_model **out) {
    nt5_status st = model_open_path(snap->dir, o, tf, out);
    if (st == NT5_OK && !(*out)->source) {
        size_t n = strlen(id) + sizeof snap->commit + 1;
        if (((*out)->source = malloc(n))) snprintf((*out)->source, n, "%s@%s", id, snap->commit);
    }
    return st;
}

nt5_status api_open_id(const char *id, const nt5_model_options *o, const load_transforms *tf, nt5_model **out) {
    hub_snapshot snap;
    nt5_status st = fetch_snapshot(id, o, &snap);
    return st == NT5_OK ? api_open_snapshot(id, &snap, o, tf, out) : st;
}

nt5_status nt5_hub_download(const char *model_id, const nt5_model_options *opts, char *dir, size_t capacity,
                            size_t *length) {
    if (!model_id || !model_id[0]) return err_set(NT5_ERR_INVALID_ARG, "model_id is NULL or empty");
    if (!dir && capacity) return err_set(NT5_ERR_INVALID_ARG, "dir is NULL but capacity is %zu", capacity);
    nt5_model_options o;
    hub_snapshot snap;
    nt5_status st = api_model_options(opts, &o);
    if (st == NT5_OK) st = fetch_snapshot(model_id, &o, &snap);
    return st == NT5_OK ? text_out(snap.dir, dir, capacity, length) : st;
}

nt5_status api_converted_path(const char *id, const nt5_model_options *o, const char *name, char *path, size_t cap,
                              hub_snapshot *snap) {
    hub_env env;
    nt5_status st = hub_env_load(o->cache_dir, o->token, o->offline, &env);
    if (st != NT5_OK) return st;
    char dir[4096];
    hub_repo_cache rc;
    st = fetch(&env, id, o, snap);
    if (st == NT5_OK) st = hub_cache_open(&env, id, &rc);
    if (st == NT5_OK) {
        hub_cache_nt5_dir(&rc, snap->commit, "converted", dir, sizeof dir);
        hub_cache_close(&rc);
        st = hub_cache_mkdirs(dir);
    }
    if (st == NT5_OK && (size_t)snprintf(path, cap, "%s/%s", dir, name) >= cap)
        st = err_set(NT5_ERR_INVALID_ARG, "the cache path %s/%s is too long", dir, name);
    hub_env_free(&env);
    return st;
}
