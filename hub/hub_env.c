#include "hub/hub_env.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json_file.h"

int hub_env_flag(const char *name) {
    const char *v = getenv(name);
    if (!v) return 0;
    return !strcasecmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true");
}

/* "~/x" -> "$HOME/x"; other paths as they are. */
static char *expand_home(const char *path) {
    const char *home = getenv("HOME");
    size_t n = strlen(path) + (home ? strlen(home) : 0) + 2;
    char *out = malloc(n);
    if (!out) return NULL;
    if (path[0] == '~' && (path[1] == '/' || !path[1]) && home) snprintf(out, n, "%s%s", home, path + 1);
    else snprintf(out, n, "%s", path);
    return out;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", a, b);
    return out;
}

/* $HF_HOME, defaulting to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface. */
static char *hf_home_dir(void) {
    const char *home = getenv("HF_HOME");
    if (home) return expand_home(home);
    const char *xdg = getenv("XDG_CACHE_HOME");
    char *base = expand_home(xdg ? xdg : "~/.cache");
    char *out = base ? join(base, "huggingface") : NULL;
    free(base);
    return out;
}

/* HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > $HF_HOME/hub */
static char *env_cache_dir(const char *hf_home) {
    const char *cache = getenv("HF_HUB_CACHE");
    if (!cache) cache = getenv("HUGGINGFACE_HUB_CACHE");
    if (cache) return expand_home(cache);
    return hf_home ? join(hf_home, "hub") : NULL;
}

/* NT5_CACHE > $XDG_CACHE_HOME/nt5 > ~/.cache/nt5 (an empty variable counts
 * as unset, as XDG says), whatever the Hub cache is. */
static char *env_nt5_dir(void) {
    const char *own = getenv("NT5_CACHE");
    if (own && *own) return expand_home(own);
    const char *xdg = getenv("XDG_CACHE_HOME");
    char *base = expand_home(xdg && *xdg ? xdg : "~/.cache");
    char *out = base ? join(base, "nt5") : NULL;
    free(base);
    return out;
}

/* path made absolute, like Path(path).expanduser().resolve(); it may not exist yet. */
static char *absolute(const char *path) {
    if (!path) return NULL;
    char resolved[PATH_MAX];
    if (realpath(path, resolved)) return strdup(resolved);
    if (path[0] == '/') return strdup(path);
    return getcwd(resolved, sizeof resolved) ? join(resolved, path) : NULL;
}

/* A token cleaned as huggingface_hub does: no CR/LF, no surrounding space. */
static char *clean_token(const char *raw) {
    size_t n = strlen(raw);
    char *t = malloc(n + 1), *w = t;
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++)
        if (raw[i] != '\r' && raw[i] != '\n') *w++ = raw[i];
    *w = '\0';
    char *s = t;
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
    memmove(t, s, len + 1);
    if (!*t) {
        free(t);
        return NULL;
    }
    return t;
}

/* HF_TOKEN > HUGGING_FACE_HUB_TOKEN > the file HF_TOKEN_PATH ($HF_HOME/token). */
static char *find_token(const char *hf_home) {
    const char *env = getenv("HF_TOKEN");
    if (!env) env = getenv("HUGGING_FACE_HUB_TOKEN");
    if (env) return clean_token(env);
    const char *path_env = getenv("HF_TOKEN_PATH");
    char *path = path_env ? expand_home(path_env) : hf_home ? join(hf_home, "token") : NULL;
    char *data = NULL, *token = NULL;
    size_t len;
    if (path && file_read_all(path, &data, &len) == NT5_OK) token = clean_token(data);
    err_clear(); /* a missing token file is normal */
    free(data);
    free(path);
    return token;
}

nt5_status hub_env_load(const char *cache_dir, const char *token, int offline, hub_env *env) {
    memset(env, 0, sizeof *env);
    char *hf_home = hf_home_dir();
    char *cache = cache_dir ? expand_home(cache_dir) : env_cache_dir(hf_home);
    char *own = env_nt5_dir();
    const char *endpoint = getenv("HF_ENDPOINT");
    env->endpoint = strdup(endpoint && *endpoint ? endpoint : "https://huggingface.co");
    env->cache_dir = absolute(cache);
    env->nt5_dir = absolute(own);
    env->token = token ? clean_token(token) : find_token(hf_home);
    env->offline = offline || hub_env_flag("HF_HUB_OFFLINE") || hub_env_flag("TRANSFORMERS_OFFLINE");
    free(cache);
    free(own);
    free(hf_home);
    if (!env->endpoint || !env->cache_dir || !env->nt5_dir) {
        hub_env_free(env);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    size_t n = strlen(env->endpoint);
    while (n && env->endpoint[n - 1] == '/') env->endpoint[--n] = '\0';
    return NT5_OK;
}

void hub_env_free(hub_env *env) {
    free(env->endpoint);
    free(env->cache_dir);
    free(env->nt5_dir);
    if (env->token) memset(env->token, 0, strlen(env->token));
    free(env->token);
    memset(env, 0, sizeof *env);
}
