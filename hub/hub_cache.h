/* One repository's folder in the huggingface_hub cache: refs, blobs named by
 * ETag, snapshots/<commit>/<file> as relative symlinks to the blobs, the
 * lock files and .no_exist markers, written exactly as huggingface_hub
 * writes them and nothing else (no file of nt5's own: huggingface_hub's
 * scan_cache_dir would report it as a corrupted repo).
 *
 * nt5's own files derived from a repo (encoder-only extracts, converted nt5
 * files) live in nt5's cache beside it (hub/hub_env.h: $NT5_CACHE, else
 * $XDG_CACHE_HOME/nt5, else ~/.cache/nt5; never inside the Hub cache, even
 * when cache_dir or HF_HUB_CACHE moves that), laid out as
 *   <nt5 cache>/CACHEDIR.TAG
 *   <nt5 cache>/models--org--name/<commit>/encoder/     (hub/hub_partial.h)
 *   <nt5 cache>/models--org--name/<commit>/converted/<name>
 */
#ifndef NT5_HUB_CACHE_H
#define NT5_HUB_CACHE_H

#include <stddef.h>

#include "hub/hub_env.h"

typedef struct hub_repo_cache {
    char *cache_dir; /* the cache root */
    char *repo_dir;  /* <cache>/models--org--name */
    char *locks_dir; /* <cache>/.locks/models--org--name */
    char *nt5_root;  /* nt5's own cache (hub_env.nt5_dir) */
    char *nt5_dir;   /* <nt5 cache>/models--org--name */
} hub_repo_cache;

nt5_status hub_cache_open(const hub_env *env, const char *repo_id, hub_repo_cache *rc);
void hub_cache_close(hub_repo_cache *rc);

/* revision -> commit: a commit id as is, else the content of refs/<revision>. */
nt5_status hub_cache_resolve(const hub_repo_cache *rc, const char *revision, char commit[41]);
/* <repo>/snapshots/<commit>[/<file>] into out. */
void hub_cache_snapshot_path(const hub_repo_cache *rc, const char *commit, const char *file, char *out, size_t cap);
int hub_cache_has_file(const hub_repo_cache *rc, const char *commit, const char *file);
/* refs/<revision> = commit (no newline), atomically; nothing when revision is the commit. */
nt5_status hub_cache_write_ref(const hub_repo_cache *rc, const char *revision, const char *commit);
/* .no_exist/<commit>/<file>: an empty marker that the file is missing at
 * that commit, as huggingface_hub leaves it (best effort). */
void hub_cache_mark_missing(const hub_repo_cache *rc, const char *commit, const char *file);
/* Creates blobs/ and the snapshot's directory. */
nt5_status hub_cache_prepare(const hub_repo_cache *rc, const char *commit, const char *file);
/* snapshots/<commit>/<file> -> ../../blobs/<etag> (relative), replacing what is there. */
nt5_status hub_cache_link(const hub_repo_cache *rc, const char *etag, const char *commit, const char *file);
/* The directory of nt5's own files <sub> of <commit>, in nt5's cache:
 * <nt5 cache>/<repo folder>/<commit>/<sub> (it may not exist). */
void hub_cache_nt5_dir(const hub_repo_cache *rc, const char *commit, const char *sub, char *dir, size_t cap);
/* The same, created (with CACHEDIR.TAG at nt5's cache root); refused when
 * nt5's cache lies inside the Hub cache. */
nt5_status hub_cache_nt5_mkdir(const hub_repo_cache *rc, const char *commit, const char *sub, char *dir, size_t cap);
void hub_cache_blob_path(const hub_repo_cache *rc, const char *etag, const char *suffix, char *out, size_t cap);

/* flock on .locks/<repo>/<etag>.lock, with filelock's unlink check. */
nt5_status hub_cache_lock(const hub_repo_cache *rc, const char *etag, int *fd);
void hub_cache_unlock(const hub_repo_cache *rc, const char *etag, int fd);

#endif
