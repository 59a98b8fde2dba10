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
#include "hub/hub_ref.h"
#include "hub/hub_repo.h"
#include "model/model.h"
#include "base/text_out.h"

/* What `id` (a reference, hub/hub_ref.h) names, fetched into the cache per
 * the hub fields of o: its path, the pipeline tokenizer beside it, the commit. */
static nt5_status fetch(const hub_env *env, const char *id, const nt5_model_options *o, int tokenizer_only,
                        hub_snapshot *snap) {
    hub_ref ref;
    nt5_status st = hub_ref_parse(id, &ref);
    if (st != NT5_OK) return st;
    if (ref.revision[0] && o->revision && o->revision[0] && strcmp(ref.revision, o->revision) != 0)
        return err_set(NT5_ERR_INVALID_ARG, "\"%s\" names revision %s but the options say %s", id, ref.revision,
                       o->revision);
    hub_request req = {.repo_id = ref.repo_id,
                       .revision = ref.revision[0] ? ref.revision : o->revision,
                       .path = ref.path,
                       .file = hub_ref_is_file(&ref),
                       .quant = ref.quant,
                       .tokenizer_only = tokenizer_only,
                       .encoder_only = o->encoder_only,
                       .progress = o->on_progress,
                       .user_data = o->progress_user_data};
    hub_fetched got;
    st = hub_fetch_model(env, &req, &got);
    if (st != NT5_OK) return st;
    snprintf(snap->dir, sizeof snap->dir, "%s", got.path);
    snprintf(snap->tokenizer, sizeof snap->tokenizer, "%s", got.tokenizer);
    memcpy(snap->commit, got.commit, sizeof snap->commit);
    return NT5_OK;
}

static nt5_status fetch_snapshot(const char *id, const nt5_model_options *o, int tokenizer_only, hub_snapshot *snap) {
    hub_env env;
    nt5_status st = hub_env_load(o->cache_dir, o->token, o->offline, &env);
    if (st != NT5_OK) return st;
    st = fetch(&env, id, o, tokenizer_only, snap);
    hub_env_free(&env);
    return st;
}

nt5_status api_open_snapshot(const char *id, const hub_snapshot *snap, const nt5_model_options *o,
                             const load_transforms *tf, nt5_model **out) {
    nt5_model_options with_tokenizer = *o;
    if (!o->tokenizer && snap->tokenizer[0]) with_tokenizer.tokenizer = snap->tokenizer;
    nt5_status st = model_open_path(snap->dir, &with_tokenizer, tf, out);
    if (st == NT5_OK && !(*out)->source) {
        const char *at = strchr(id, '@'); /* "id@commit", without the revision the id may carry */
        int id_len = at ? (int)(at - id) : (int)strlen(id);
        size_t n = (size_t)id_len + sizeof snap->commit + 1;
        if (((*out)->source = malloc(n))) snprintf((*out)->source, n, "%.*s@%s", id_len, id, snap->commit);
    }
    return st;
}

nt5_status api_open_id(const char *id, const nt5_model_options *o, const load_transforms *tf, nt5_model **out) {
    hub_snapshot snap;
    nt5_status st = fetch_snapshot(id, o, 0, &snap);
    return st == NT5_OK ? api_open_snapshot(id, &snap, o, tf, out) : st;
}

nt5_status api_tokenizer_option(nt5_model_options *o, char *dir, size_t cap) {
    if (!o->tokenizer || !hub_looks_like_ref(o->tokenizer)) return NT5_OK;
    hub_snapshot snap;
    nt5_status st = fetch_snapshot(o->tokenizer, o, 1, &snap);
    if (st != NT5_OK) return st;
    snprintf(dir, cap, "%s", snap.dir);
    o->tokenizer = dir;
    return NT5_OK;
}

nt5_status nt5_hub_download(const char *model_id, const nt5_model_options *opts, char *dir, size_t capacity,
                            size_t *length) {
    if (!model_id || !model_id[0]) return err_set(NT5_ERR_INVALID_ARG, "model_id is NULL or empty");
    if (!dir && capacity) return err_set(NT5_ERR_INVALID_ARG, "dir is NULL but capacity is %zu", capacity);
    nt5_model_options o;
    hub_snapshot snap;
    nt5_status st = api_model_options(opts, &o);
    if (st == NT5_OK) st = fetch_snapshot(model_id, &o, 0, &snap);
    return st == NT5_OK ? text_out(snap.dir, dir, capacity, length) : st;
}

nt5_status api_converted_path(const char *id, const nt5_model_options *o, const char *name, char *path, size_t cap,
                              hub_snapshot *snap) {
    hub_env env;
    nt5_status st = hub_env_load(o->cache_dir, o->token, o->offline, &env);
    if (st != NT5_OK) return st;
    char dir[4096];
    hub_repo_cache rc;
    hub_ref ref;
    st = hub_ref_parse(id, &ref);
    if (st == NT5_OK) st = fetch(&env, id, o, 0, snap);
    if (st == NT5_OK) st = hub_cache_open(&env, ref.repo_id, &rc);
    if (st == NT5_OK) {
        st = hub_cache_nt5_mkdir(&rc, snap->commit, "converted", dir, sizeof dir); /* in nt5's cache */
        hub_cache_close(&rc);
    }
    /* a component, file or quantization of the repo has its own name */
    char part[1100] = "";
    for (size_t i = 0, n = (size_t)snprintf(part, sizeof part, "%s%s", ref.path, ref.quant); i < n; i++)
        if (part[i] == '/' || part[i] == '.') part[i] = '_';
    if (st == NT5_OK && (size_t)snprintf(path, cap, "%s/%s%s%s", dir, part, part[0] ? "-" : "", name) >= cap)
        st = err_set(NT5_ERR_INVALID_ARG, "the cache path %s/%s is too long", dir, name);
    hub_env_free(&env);
    return st;
}
