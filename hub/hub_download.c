#include "hub/hub_download.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file_mode.h"
#include "hub/hub_cache.h"
#include "hub/hub_partial.h"
#include "hub/hub_repo.h"
#include "base/json_file.h"
#include "format/weight_names.h"

#define PATH_CAP 4096
#define MAX_FILES 256

/* a repo file name of the listing */
typedef char file_name[256];

/* Percent-encoding as Python's quote(s, safe): unreserved characters and `safe` stay. */
static void quote(const char *s, const char *safe, char *out, size_t cap) {
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && w + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_.-~", *p) ||
            (*p && strchr(safe, *p)))
            out[w++] = (char)*p;
        else w += (size_t)snprintf(out + w, cap - w, "%%%02X", *p);
    }
    out[w] = '\0';
}

/* sha256 of a file as 64 lowercase hex. */
static nt5_status file_sha256(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(NT5_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], digest[32];
    unsigned int dlen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t n; ok && (n = fread(buf, 1, sizeof buf, f)) > 0;) ok = EVP_DigestUpdate(ctx, buf, n);
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, digest, &dlen);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok) return err_set(NT5_ERR_IO, "cannot hash %s", path);
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return NT5_OK;
}

static int is_sha256(const char *etag) {
    if (strlen(etag) != 64) return 0;
    for (const char *p = etag; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

/* Downloads blobs/<etag> through blobs/<etag>.incomplete (resumed), checks
 * its size and, for LFS files, its sha256, then renames it. Called with the
 * blob's lock held. */
static nt5_status download_blob(const hub_env *env, const hub_repo_cache *rc, const hub_request *req, const char *url,
                                const http_meta *meta, const char *file) {
    char blob[PATH_CAP], part[PATH_CAP];
    hub_cache_blob_path(rc, meta->etag, NULL, blob, sizeof blob);
    hub_cache_blob_path(rc, meta->etag, ".incomplete", part, sizeof part);
    int fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(NT5_ERR_IO, "%s/%s: cannot write into the cache %s: %s", req->repo_id, file, rc->repo_dir,
                       strerror(errno));
    struct stat sb;
    fstat(fd, &sb);
    char display[1200];
    snprintf(display, sizeof display, "%s/%s", req->repo_id, file);
    http_sink sink = {fd, sb.st_size, meta->size, display, req->progress, req->user_data, 0, 0, -1};
    if (meta->size >= 0 && sink.offset > meta->size) { /* longer than the file: start again */
        if (ftruncate(fd, 0) == 0) sink.offset = 0;
    }
    nt5_status st = NT5_OK;
    if (meta->size < 0 || sink.offset < meta->size)
        st = hub_http_download(env, meta->location, hub_same_host(meta->location, url), &sink);
    if (close(fd) != 0 && st == NT5_OK)
        st = err_set(NT5_ERR_IO, "%s: cannot write into the cache %s: %s", display, rc->repo_dir, strerror(errno));
    if (st != NT5_OK) { /* the .incomplete file stays for a resume, unless nothing came */
        if (stat(part, &sb) == 0 && sb.st_size == 0) unlink(part);
        return st;
    }
    if (stat(part, &sb) != 0 || (meta->size >= 0 && sb.st_size != meta->size)) {
        unlink(part);
        return err_set(NT5_ERR_NETWORK, "%s: received %lld bytes, the Hub announced %lld", display,
                       (long long)sb.st_size, meta->size);
    }
    if (is_sha256(meta->etag)) {
        char hex[65];
        st = file_sha256(part, hex);
        if (st == NT5_OK && strcmp(hex, meta->etag) != 0) {
            unlink(part);
            return err_set(NT5_ERR_FORMAT,
                           "%s: the downloaded bytes have sha256 %s but the Hub's ETag is %s; "
                           "nothing was stored",
                           display, hex, meta->etag);
        }
        if (st != NT5_OK) return st;
    }
    chmod(part, file_mode_for(0666));
    if (rename(part, blob) != 0)
        return err_set(NT5_ERR_IO, "%s: cannot store it in the cache %s: %s", display, rc->repo_dir, strerror(errno));
    return NT5_OK;
}

/* The resolve URL of a file and its metadata (HEAD), checked. */
static nt5_status head_file(const hub_env *env, const hub_repo_cache *rc, const hub_request *req, const char *commit,
                            const char *file, char *url, size_t url_cap, http_meta *meta) {
    char qrev[256], qfile[2048];
    quote(commit, "", qrev, sizeof qrev);
    quote(file, "/", qfile, sizeof qfile);
    snprintf(url, url_cap, "%s/%s/resolve/%s/%s", env->endpoint, req->repo_id, qrev, qfile);
    char what[1200];
    snprintf(what, sizeof what, "%s/%s", req->repo_id, file);
    nt5_status st = hub_http_head(env, url, meta);
    if (st != NT5_OK) return st;
    if (meta->status == 404 && !strcmp(meta->error_code, "EntryNotFound") && hub_is_commit(meta->commit))
        hub_cache_mark_missing(rc, meta->commit, file);
    if (meta->status >= 400) return hub_http_error(env, meta->status, meta->error_code, what, url);
    if (!meta->commit[0] || !meta->etag[0])
        return err_set(NT5_ERR_NETWORK, "%s: the answer has no X-Repo-Commit or ETag (is HF_ENDPOINT a Hub?)", url);
    if (strchr(meta->etag, '/') || strstr(meta->etag, ".."))
        return err_set(NT5_ERR_FORMAT, "%s: refusing the ETag \"%s\" as a file name", url, meta->etag);
    return NT5_OK;
}

/* One file of the snapshot <commit>, as huggingface_hub's hf_hub_download. */
static nt5_status fetch_file(const hub_env *env, const hub_repo_cache *rc, const hub_request *req, const char *commit,
                             const char *file) {
    if (hub_cache_has_file(rc, commit, file)) return NT5_OK;
    char url[4096];
    http_meta meta;
    nt5_status st = head_file(env, rc, req, commit, file, url, sizeof url, &meta);
    if (st != NT5_OK) return st;
    if ((st = hub_cache_prepare(rc, commit, file)) != NT5_OK) return st;
    char blob[PATH_CAP];
    hub_cache_blob_path(rc, meta.etag, NULL, blob, sizeof blob);
    int lock;
    if ((st = hub_cache_lock(rc, meta.etag, &lock)) != NT5_OK) return st;
    if (access(blob, F_OK) != 0) st = download_blob(env, rc, req, url, &meta, file);
    if (st == NT5_OK) st = hub_cache_link(rc, meta.etag, commit, file);
    hub_cache_unlock(rc, meta.etag, lock);
    return st;
}

/* The model info: the commit and the list of file names. */
static nt5_status model_info(const hub_env *env, const hub_request *req, const char *revision, char commit[41],
                             cJSON **info) {
    char qrev[256], url[4096];
    quote(revision, "", qrev, sizeof qrev);
    snprintf(url, sizeof url, "%s/api/models/%s/revision/%s", env->endpoint, req->repo_id, qrev);
    char *body;
    size_t len;
    nt5_status st = hub_http_get_text(env, url, &body, &len);
    if (st != NT5_OK) return st;
    st = json_parse_object(body, len, url, info);
    free(body);
    if (st != NT5_OK) return st;
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(*info, "sha");
    if (!cJSON_IsString(sha) || !hub_is_commit(sha->valuestring)) {
        st = cJSON_IsString(sha) ? err_set(NT5_ERR_FORMAT,
                                           "%s: the model info's commit sha \"%.80s\" is not 40 "
                                           "lowercase hex digits",
                                           url, sha->valuestring)
                                 : err_set(NT5_ERR_FORMAT, "%s: the model info has no commit sha", url);
        cJSON_Delete(*info);
        return st;
    }
    memcpy(commit, sha->valuestring, 41);
    return NT5_OK;
}

static int listed(const cJSON *siblings, const char *name) {
    const cJSON *s;
    cJSON_ArrayForEach(s, siblings) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "rfilename");
        if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0) return 1;
    }
    return 0;
}

/* A T5 tokenizer's files, the first required; a model's weights in the Hub's order of preference. */
static const char *const tokenizer_files[] = {"spiece.model", "tokenizer_config.json"};
static const char *const weight_files[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                           "pytorch_model.bin.index.json"};

/* `folder`/`name` (just `name` at the root) into out[256]; 0 when too long. */
static int in_folder(const char *folder, const char *name, char out[256]) {
    return (size_t)snprintf(out, 256, "%s%s%s", folder, *folder ? "/" : "", name) < 256;
}

/* Appends to files[*n] those of folder/names[count] that the listing has; how many. */
static int add_listed(const cJSON *siblings, const char *folder, const char *const *names, size_t count,
                      file_name *files, int *n) {
    int added = 0;
    for (size_t i = 0; i < count && *n < MAX_FILES; i++)
        if (in_folder(folder, names[i], files[*n]) && listed(siblings, files[*n])) (*n)++, added++;
    return added;
}

/* The diffusers convention: component text_encoder_N pairs with tokenizer_N
 * (text_encoder with tokenizer); 0 for other folders. */
static int paired_tokenizer(const char *folder, file_name tokenizer) {
    if (strncmp(folder, "text_encoder", 12) != 0 || strchr(folder, '/')) return 0;
    return (size_t)snprintf(tokenizer, 256, "tokenizer%s", folder + 12) < 256;
}

/* Whether req asks for a model at the root of its repo (not a folder, file, quantization or tokenizer). */
static int root_model(const hub_request *req) { return !req->path[0] && !req->quant[0] && !req->tokenizer_only; }

/* The shard names of a downloaded index (in `folder`), each a safe file
 * name, as repo paths; for an encoder-only model only the shards with
 * encoder tensors. */
static nt5_status shard_names(const hub_repo_cache *rc, const char *commit, const char *folder, const char *index,
                              int encoder_only, file_name *files, int *n) {
    char path[PATH_CAP];
    hub_cache_snapshot_path(rc, commit, index, path, sizeof path);
    cJSON *root;
    nt5_status st = json_read_file(path, &root);
    if (st != NT5_OK) return st;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map"), *it;
    if (!cJSON_IsObject(map)) st = err_set(NT5_ERR_FORMAT, "%s has no weight_map", path);
    cJSON_ArrayForEach(it, map) {
        if (st != NT5_OK) break;
        file_name shard;
        if (!cJSON_IsString(it) || !hub_filename_safe(it->valuestring) || !in_folder(folder, it->valuestring, shard)) {
            st = err_set(NT5_ERR_FORMAT, "%s: invalid shard file name", path);
            break;
        }
        if (encoder_only && !hf_name_needed_by_encoder(it->string)) continue;
        int seen = 0;
        for (int i = 0; i < *n && !seen; i++) seen = strcmp(files[i], shard) == 0;
        if (!seen && *n < MAX_FILES) memcpy(files[(*n)++], shard, sizeof shard);
    }
    cJSON_Delete(root);
    return st;
}

/* Every name in the listing must be a safe relative path. */
static nt5_status check_listing(const cJSON *siblings, const char *repo_id) {
    const cJSON *s;
    cJSON_ArrayForEach(s, siblings) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "rfilename");
        if (!cJSON_IsString(r) || !hub_filename_safe(r->valuestring))
            return err_set(NT5_ERR_FORMAT, "the file listing of %s holds an unsafe name \"%s\"; refusing it", repo_id,
                           cJSON_IsString(r) ? r->valuestring : "(not a string)");
    }
    return NT5_OK;
}

/* Whether `name` carries the quantization tag `quant` (any case), between
 * non-alphanumeric characters: "model-Q8_0.gguf" has Q8_0, not Q8. */
static int has_quant_tag(const char *name, const char *quant) {
    size_t q = strlen(quant);
    for (const char *p = name; *p; p++) {
        if (strncasecmp(p, quant, q) != 0) continue;
        int before = p == name || !isalnum((unsigned char)p[-1]);
        int after = !isalnum((unsigned char)p[q]) && p[q] != '_';
        if (before && after) return 1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The one .gguf file of the listing tagged `quant` (llama.cpp's -hf org/name:QUANT). */
static nt5_status pick_quant(const cJSON *siblings, const hub_request *req, file_name out) {
    const cJSON *s;
    int found = 0;
    cJSON_ArrayForEach(s, siblings) {
        const char *name = cJSON_GetObjectItemCaseSensitive(s, "rfilename")->valuestring;
        if (!ends_with(name, ".gguf") || !has_quant_tag(name, req->quant)) continue;
        if (found++ && strcmp(out, name) != 0)
            return err_set(NT5_ERR_INVALID_ARG, "%s has more than one GGUF file for %s (%s and %s): name the file",
                           req->repo_id, req->quant, out, name);
        snprintf(out, 256, "%s", name);
    }
    return found ? NT5_OK
                 : err_set(NT5_ERR_NOT_FOUND, "%s has no .gguf file of quantization %s", req->repo_id, req->quant);
}

/* A diffusers pipeline's tokenizer for the component `folder` when it has
 * none of its own (paired_tokenizer, in a repo with model_index.json); "" when
 * there is none. */
static void pipeline_tokenizer(const cJSON *siblings, const char *folder, file_name tokenizer) {
    file_name own, spiece;
    int pipeline = listed(siblings, "model_index.json") && paired_tokenizer(folder, tokenizer);
    if (!pipeline || (in_folder(folder, "spiece.model", own) && listed(siblings, own)) ||
        !(in_folder(tokenizer, "spiece.model", spiece) && listed(siblings, spiece)))
        tokenizer[0] = '\0';
}

/* The files of a transformers model in `folder` ("" = the root): config,
 * tokenizer and the weights in the Hub's order of preference. *index: the
 * shard index among them; *partial: an encoder alone takes part of one big
 * safetensors file instead (hub_partial.h; at the root only). */
static nt5_status model_files(const hub_repo_cache *rc, const hub_request *req, const cJSON *siblings,
                              const char *folder, const char *commit, file_name *files, int *n, const char **index,
                              int *partial) {
    file_name name;
    if (!in_folder(folder, "config.json", files[*n]) || !listed(siblings, files[*n]))
        return err_set(NT5_ERR_NOT_FOUND, "%s has no %s: not a transformers model%s", req->repo_id, files[*n],
                       *folder ? " folder" : "");
    (*n)++;
    add_listed(siblings, folder, tokenizer_files, 2, files, n);
    size_t w = 0;
    while (w < 4 && !(in_folder(folder, weight_files[w], name) && listed(siblings, name))) w++;
    if (w == 4)
        return err_set(NT5_ERR_NOT_FOUND, "%s has no %s%smodel.safetensors or pytorch_model.bin", req->repo_id, folder,
                       *folder ? "/" : "");
    *partial = w == 0 && !*folder && req->encoder_only && !hub_cache_has_file(rc, commit, weight_files[0]);
    if (!*partial) memcpy(files[(*n)++], name, sizeof name);
    *index = w == 1 || w == 3 ? files[*n - 1] : NULL;
    return NT5_OK;
}

static nt5_status fetch_online(const hub_env *env, const hub_repo_cache *rc, const hub_request *req,
                               const char *revision, char commit[41], hub_fetched *out, int *partial) {
    cJSON *info = NULL;
    nt5_status st = model_info(env, req, revision, commit, &info);
    if (st != NT5_OK) return st;
    const cJSON *siblings = cJSON_GetObjectItemCaseSensitive(info, "siblings");
    st = check_listing(siblings, req->repo_id);
    file_name *files = calloc(MAX_FILES, sizeof *files); /* [MAX_FILES] */
    int n = 0;
    const char *index = NULL;
    if (!files) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NT5_OK && req->quant[0]) { /* one GGUF file */
        st = pick_quant(siblings, req, files[n]);
        if (st == NT5_OK) snprintf(out->file, sizeof out->file, "%s", files[n++]);
    } else if (st == NT5_OK && req->file) { /* one file */
        if (!listed(siblings, req->path)) st = err_set(NT5_ERR_NOT_FOUND, "%s has no file %s", req->repo_id, req->path);
        else snprintf(files[n++], 256, "%s", req->path);
        snprintf(out->file, sizeof out->file, "%s", req->path);
    } else if (st == NT5_OK && req->tokenizer_only) { /* a tokenizer: its folder's spiece.model and config */
        if (!add_listed(siblings, req->path, tokenizer_files, 1, files, &n))
            st = err_set(NT5_ERR_NOT_FOUND, "%s%s%s has no spiece.model: not a T5 tokenizer", req->repo_id,
                         req->path[0] ? "/" : "", req->path);
        add_listed(siblings, req->path, tokenizer_files + 1, 1, files, &n);
    } else if (st == NT5_OK) { /* a model at the root or in a component folder, with its pipeline's tokenizer */
        st = model_files(rc, req, siblings, req->path, commit, files, &n, &index, partial);
        file_name tokenizer;
        pipeline_tokenizer(siblings, req->path, tokenizer);
        snprintf(out->tokenizer, sizeof out->tokenizer, "%s", tokenizer);
        if (st == NT5_OK && tokenizer[0]) add_listed(siblings, tokenizer, tokenizer_files, 2, files, &n);
    }
    cJSON_Delete(info);
    for (int i = 0; i < n && st == NT5_OK; i++) st = fetch_file(env, rc, req, commit, files[i]);
    if (st == NT5_OK && index) {
        int first = n;
        st = shard_names(rc, commit, req->path, index, req->encoder_only, files, &n);
        for (int i = first; i < n && st == NT5_OK; i++) st = fetch_file(env, rc, req, commit, files[i]);
    }
    if (st == NT5_OK && *partial && !hub_partial_ready(rc, commit)) {
        char url[4096];
        http_meta meta;
        st = head_file(env, rc, req, commit, weight_files[0], url, sizeof url, &meta);
        if (st == NT5_OK) st = hub_partial_fetch(env, rc, req, commit, url, &meta);
    }
    if (st == NT5_OK) st = hub_cache_write_ref(rc, revision, commit);
    free(files);
    return st;
}

/* Offline: what an earlier fetch left in the snapshot, found without the listing. */
static nt5_status find_cached(const hub_repo_cache *rc, const hub_request *req, const char *commit, hub_fetched *out) {
    file_name key = "", tokenizer = "";
    if (req->quant[0]) { /* the snapshot's .gguf file with that tag */
        char dir[PATH_CAP];
        hub_cache_snapshot_path(rc, commit, NULL, dir, sizeof dir);
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));)
            if (ends_with(e->d_name, ".gguf") && has_quant_tag(e->d_name, req->quant))
                snprintf(key, sizeof key, "%s", e->d_name);
        if (d) closedir(d);
        snprintf(out->file, sizeof out->file, "%s", key);
    } else if (req->file) {
        snprintf(key, sizeof key, "%s", req->path);
        snprintf(out->file, sizeof out->file, "%s", req->path);
    } else if (req->tokenizer_only) {
        in_folder(req->path, "spiece.model", key);
    } else if (in_folder(req->path, "config.json", key) && paired_tokenizer(req->path, tokenizer)) {
        file_name spiece;
        if (!(in_folder(tokenizer, "spiece.model", spiece) && hub_cache_has_file(rc, commit, spiece)))
            tokenizer[0] = '\0';
    }
    snprintf(out->tokenizer, sizeof out->tokenizer, "%s", tokenizer);
    return key[0] && hub_cache_has_file(rc, commit, key) ? NT5_OK : NT5_ERR_NOT_FOUND;
}

/* Whether the snapshot holds the whole model's weights (not just an encoder part beside it). */
static int has_weights(const hub_repo_cache *rc, const char *commit) {
    for (size_t i = 0; i < sizeof weight_files / sizeof weight_files[0]; i++)
        if (hub_cache_has_file(rc, commit, weight_files[i])) return 1;
    return 0;
}

/* A note for the caller's progress callback ("note: ...", 0 of 0): the library prints nothing itself. */
static void note(const hub_request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const hub_request *req, const char *fmt, ...) {
    if (!req->progress) return;
    char text[1400] = "note: ";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + 6, sizeof text - 6, fmt, ap);
    va_end(ap);
    req->progress(text, 0, 0, req->user_data);
}

nt5_status hub_fetch_model(const hub_env *env, const hub_request *req, hub_fetched *out) {
    memset(out, 0, sizeof *out);
    if (!hub_repo_id_valid(req->repo_id))
        return err_set(NT5_ERR_INVALID_ARG, "\"%s\" is not a valid repo id", req->repo_id);
    const char *revision = req->revision && *req->revision ? req->revision : "main";
    hub_repo_cache rc;
    nt5_status st = hub_cache_open(env, req->repo_id, &rc);
    if (st != NT5_OK) return st;
    char commit[41] = "";
    int partial = 0;
    hub_fetched found;
    if (!env->offline) {
        st = fetch_online(env, &rc, req, revision, commit, out, &partial);
        /* like huggingface_hub: when the Hub cannot be reached, use the cache */
        if (st == NT5_ERR_NETWORK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", err_message());
            if (hub_cache_resolve(&rc, revision, commit) == NT5_OK && find_cached(&rc, req, commit, &found) == NT5_OK) {
                *out = found;
                st = NT5_OK;
                note(req, "the Hub could not be reached (%.600s); using the cached snapshot %.12s", why, commit);
            } else {
                err_set(st, "%s", why); /* the network error, not the cache miss */
            }
        }
    } else if ((st = hub_cache_resolve(&rc, revision, commit)) != NT5_OK ||
               find_cached(&rc, req, commit, out) != NT5_OK) {
        st = err_set(NT5_ERR_NOT_FOUND, "%s%s%s%s%s at revision %s is not in the cache (%s) and HF_HUB_OFFLINE is set",
                     req->repo_id, req->path[0] ? "/" : "", req->path, req->quant[0] ? ":" : "", req->quant, revision,
                     rc.repo_dir);
    }
    /* offline or after a fallback: an encoder part stands in for a missing whole file */
    if (st == NT5_OK && root_model(req))
        partial = req->encoder_only && !hub_cache_has_file(&rc, commit, weight_files[0]) &&
                  hub_partial_ready(&rc, commit);
    if (st == NT5_OK && root_model(req) && !req->encoder_only && !has_weights(&rc, commit) &&
        hub_partial_ready(&rc, commit))
        st = err_set(NT5_ERR_NOT_FOUND,
                     "only the encoder of %s was fetched (an encoder-only open, such as nt5 encode, takes just its "
                     "part); fetch the whole model with the Hub reachable (nt5 download %s)",
                     req->repo_id, req->repo_id);
    if (st == NT5_OK) {
        char base[PATH_CAP];
        if (partial) hub_partial_dir(&rc, commit, base, sizeof base);
        else hub_cache_snapshot_path(&rc, commit, NULL, base, sizeof base);
        const char *inside = out->file[0] ? out->file : req->path;
        if ((size_t)snprintf(out->path, sizeof out->path, "%s%s%s", base, *inside ? "/" : "", inside) >=
            sizeof out->path)
            st = err_set(NT5_ERR_INVALID_ARG, "the cache path of %s/%s is too long", req->repo_id, inside);
        if (out->tokenizer[0]) { /* the repo path becomes the snapshot's */
            char repo_path[sizeof out->tokenizer];
            memcpy(repo_path, out->tokenizer, sizeof repo_path);
            hub_cache_snapshot_path(&rc, commit, repo_path, out->tokenizer, sizeof out->tokenizer);
        }
        memcpy(out->commit, commit, sizeof commit);
    }
    hub_cache_close(&rc);
    return st;
}
