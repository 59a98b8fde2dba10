/* Where the Hub and its cache are, as huggingface_hub reads it from the
 * environment (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, the token file,
 * HF_HUB_OFFLINE), with the caller's options taking precedence; and where
 * nt5 keeps its own files derived from Hub models (encoder-only extracts,
 * converted files): beside the Hub cache, never inside it, so that the cache
 * stays exactly as huggingface_hub writes it (its scan_cache_dir reports any
 * other entry as a corrupted repo, and its delete cannot see them). That
 * root is $NT5_CACHE when set, else $XDG_CACHE_HOME/nt5 when set, else
 * ~/.cache/nt5; the cache_dir option and HF_HUB_CACHE do not move it. */
#ifndef NT5_HUB_ENV_H
#define NT5_HUB_ENV_H

#include "nt5.h"

typedef struct hub_env {
    char *endpoint;  /* no trailing '/' */
    char *cache_dir; /* the huggingface_hub cache, absolute */
    char *nt5_dir;   /* nt5's own cache, absolute */
    char *token;     /* NULL when there is none */
    int offline;
} hub_env;

/* cache_dir, token: the caller's overrides or NULL; offline: 1 forces it. */
nt5_status hub_env_load(const char *cache_dir, const char *token, int offline, hub_env *env);
void hub_env_free(hub_env *env);
/* huggingface_hub's boolean rule: 1, ON, YES, TRUE in any case. */
int hub_env_flag(const char *name);

#endif
