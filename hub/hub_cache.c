#include "hub/hub_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "hub/hub_repo.h"

#define PATH_CAP 4096

static const char cachedir_tag[] =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by nt5.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n";

static char *path_join3(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *out = malloc(n);
    if (out) snprintf(out, n, c ? "%s/%s/%s" : "%s/%s", a, b, c);
    return out;
}

nt5_status hub_cache_open(const hub_env *env, const char *repo_id, hub_repo_cache *rc) {
    memset(rc, 0, sizeof *rc);
    char folder[512];
    nt5_status st = hub_repo_folder(repo_id, folder, sizeof folder);
    if (st != NT5_OK) return st;
    rc->cache_dir = strdup(env->cache_dir);
    rc->repo_dir = path_join3(env->cache_dir, folder, NULL);
    rc->locks_dir = path_join3(env->cache_dir, ".locks", folder);
    rc->nt5_root = strdup(env->nt5_dir);
    rc->nt5_dir = path_join3(env->nt5_dir, folder, NULL);
    if (!rc->cache_dir || !rc->repo_dir || !rc->locks_dir || !rc->nt5_root || !rc->nt5_dir) {
        hub_cache_close(rc);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return NT5_OK;
}

void hub_cache_close(hub_repo_cache *rc) {
    free(rc->cache_dir);
    free(rc->repo_dir);
    free(rc->locks_dir);
    free(rc->nt5_root);
    free(rc->nt5_dir);
    memset(rc, 0, sizeof *rc);
}

nt5_status hub_cache_resolve(const hub_repo_cache *rc, const char *revision, char commit[41]) {
    if (hub_is_commit(revision)) {
        memcpy(commit, revision, 41);
        return NT5_OK;
    }
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/refs/%s", rc->repo_dir, revision);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(NT5_ERR_NOT_FOUND, "revision \"%s\" is not in the cache (%s)", revision, rc->repo_dir);
    char buf[64] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
    if (!hub_is_commit(buf)) return err_set(NT5_ERR_FORMAT, "%s does not hold a commit id", path);
    memcpy(commit, buf, 41);
    return NT5_OK;
}

void hub_cache_snapshot_path(const hub_repo_cache *rc, const char *commit, const char *file, char *out, size_t cap) {
    snprintf(out, cap, file ? "%s/snapshots/%s/%s" : "%s/snapshots/%s", rc->repo_dir, commit, file);
}

int hub_cache_has_file(const hub_repo_cache *rc, const char *commit, const char *file) {
    char path[PATH_CAP];
    hub_cache_snapshot_path(rc, commit, file, path, sizeof path);
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode); /* follows the symlink: a dangling one does not count */
}

void hub_cache_blob_path(const hub_repo_cache *rc, const char *etag, const char *suffix, char *out, size_t cap) {
    snprintf(out, cap, "%s/blobs/%s%s", rc->repo_dir, etag, suffix ? suffix : "");
}

/* mkdir -p */
static nt5_status make_dirs(const char *path) {
    char buf[PATH_CAP];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return err_set(NT5_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return err_set(NT5_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
    return NT5_OK;
}

static nt5_status write_atomically(const char *path, const char *data, size_t len) {
    char tmp[PATH_CAP + 32];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return err_set(NT5_ERR_IO, "cannot write beside %s: %s", path, strerror(errno));
    int ok = write(fd, data, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return err_set(NT5_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return NT5_OK;
}

nt5_status hub_cache_write_ref(const hub_repo_cache *rc, const char *revision, const char *commit) {
    if (strcmp(revision, commit) == 0) return NT5_OK;
    char path[PATH_CAP], current[41];
    snprintf(path, sizeof path, "%s/refs/%s", rc->repo_dir, revision);
    if (hub_cache_resolve(rc, revision, current) == NT5_OK && strcmp(current, commit) == 0) return NT5_OK;
    err_clear();
    char *slash = strrchr(path, '/');
    *slash = '\0';
    nt5_status st = make_dirs(path); /* refs/ or refs/refs/pr for "refs/pr/3" */
    *slash = '/';
    return st != NT5_OK ? st : write_atomically(path, commit, 40);
}

nt5_status hub_cache_prepare(const hub_repo_cache *rc, const char *commit, const char *file) {
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/blobs", rc->repo_dir);
    nt5_status st = make_dirs(path);
    hub_cache_snapshot_path(rc, commit, file, path, sizeof path);
    *strrchr(path, '/') = '\0';
    if (st == NT5_OK) st = make_dirs(path);
    return st;
}

void hub_cache_mark_missing(const hub_repo_cache *rc, const char *commit, const char *file) {
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/.no_exist/%s/%s", rc->repo_dir, commit, file);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (make_dirs(path) == NT5_OK) {
        *slash = '/';
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) close(fd);
    }
    err_clear();
}

nt5_status hub_cache_link(const hub_repo_cache *rc, const char *etag, const char *commit, const char *file) {
    char pointer[PATH_CAP], target[PATH_CAP] = "";
    hub_cache_snapshot_path(rc, commit, file, pointer, sizeof pointer);
    /* relpath(blob, dirname(pointer)): "../" for snapshots/<commit> and each directory in file */
    size_t depth = 2;
    for (const char *p = file; *p; p++) depth += *p == '/';
    for (size_t i = 0; i < depth; i++) strncat(target, "../", sizeof target - strlen(target) - 1);
    snprintf(target + strlen(target), sizeof target - strlen(target), "blobs/%s", etag);
    unlink(pointer);
    if (symlink(target, pointer) != 0 && errno != EEXIST)
        return err_set(NT5_ERR_IO, "cannot link %s: %s", pointer, strerror(errno));
    return NT5_OK;
}

nt5_status hub_cache_lock(const hub_repo_cache *rc, const char *etag, int *fd_out) {
    nt5_status st = make_dirs(rc->locks_dir);
    if (st != NT5_OK) return st;
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s.lock", rc->locks_dir, etag);
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0664);
        if (fd < 0) return err_set(NT5_ERR_IO, "cannot open lock %s: %s", path, strerror(errno));
        fchmod(fd, 0664);
        if (flock(fd, LOCK_EX) != 0) {
            int e = errno;
            close(fd);
            return err_set(NT5_ERR_IO, "cannot lock %s: %s", path, strerror(e));
        }
        struct stat sb;
        /* a concurrent holder unlinked it on release: lock the new file instead */
        if (fstat(fd, &sb) == 0 && sb.st_nlink > 0) {
            *fd_out = fd;
            return NT5_OK;
        }
        close(fd);
    }
}

void hub_cache_unlock(const hub_repo_cache *rc, const char *etag, int fd) {
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s.lock", rc->locks_dir, etag);
    unlink(path);
    flock(fd, LOCK_UN);
    close(fd);
}

void hub_cache_nt5_dir(const hub_repo_cache *rc, const char *commit, const char *sub, char *dir, size_t cap) {
    snprintf(dir, cap, "%s/%s/%s", rc->nt5_dir, commit, sub);
}

/* Whether path is dir or below it (both absolute, compared as resolved as
 * they can be: either may not exist yet). */
static int is_within(const char *path, const char *dir) {
    char p[PATH_MAX], d[PATH_MAX];
    if (!realpath(path, p)) snprintf(p, sizeof p, "%s", path);
    if (!realpath(dir, d)) snprintf(d, sizeof d, "%s", dir);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/') d[--n] = '\0';
    return strncmp(p, d, n) == 0 && (p[n] == '\0' || p[n] == '/' || n == 1);
}

nt5_status hub_cache_nt5_mkdir(const hub_repo_cache *rc, const char *commit, const char *sub, char *dir, size_t cap) {
    if (is_within(rc->nt5_root, rc->cache_dir))
        return err_set(NT5_ERR_INVALID_ARG,
                       "nt5's cache %s is inside the Hub cache %s, which must hold only huggingface_hub's files: "
                       "set NT5_CACHE to a directory outside it",
                       rc->nt5_root, rc->cache_dir);
    hub_cache_nt5_dir(rc, commit, sub, dir, cap);
    nt5_status st = make_dirs(dir);
    if (st != NT5_OK) return st;
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/CACHEDIR.TAG", rc->nt5_root);
    if (access(path, F_OK) != 0) write_atomically(path, cachedir_tag, sizeof cachedir_tag - 1);
    err_clear(); /* the tag is best effort, as huggingface_hub's is */
    return NT5_OK;
}
