#include "hub/hub_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/version.h"

#define ATTEMPTS 5
#define USER_AGENT "nt5/" NT5_VERSION_STRING

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

nt5_status hub_http_init(void) {
    pthread_once(&curl_once, curl_init);
    return curl_init_result == CURLE_OK
               ? NT5_OK
               : err_set(NT5_ERR_NETWORK, "libcurl could not start: %s", curl_easy_strerror(curl_init_result));
}

static void sleep_backoff(int attempt) {
    /* 0.25 s, 0.5 s, 1 s, 2 s */
    const char *base_env = getenv("NT5_HUB_RETRY_BASE_MS"); /* tests make it short */
    long base = base_env ? atol(base_env) : 250;
    long ms = base << attempt;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n) {
    while (n && (v[0] == ' ' || v[0] == '\t')) v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* ETag as huggingface_hub normalises it: W/ prefix and quotes removed. */
static void normalise_etag(char *e) {
    char *s = e;
    while (*s == 'W' || *s == '/') s++;
    while (*s == '"') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == '"') n--;
    memmove(e, s, n);
    e[n] = '\0';
}

typedef struct header_state {
    http_meta *meta;
    char etag[130], linked_etag[130];
    long long content_length, linked_size;
} header_state;

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
    header_state *h = ud;
    size_t len = size * n;
    const char *colon = memchr(buf, ':', len);
    if (!colon) return len;
    size_t klen = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
    char tmp[64];
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(buf, name, klen) == 0)
    if (IS("x-repo-commit")) copy_header_value(h->meta->commit, sizeof h->meta->commit, v, vlen);
    else if (IS("etag")) copy_header_value(h->etag, sizeof h->etag, v, vlen);
    else if (IS("x-linked-etag")) copy_header_value(h->linked_etag, sizeof h->linked_etag, v, vlen);
    else if (IS("location")) copy_header_value(h->meta->location, sizeof h->meta->location, v, vlen);
    else if (IS("x-error-code")) copy_header_value(h->meta->error_code, sizeof h->meta->error_code, v, vlen);
    else if (IS("x-error-message")) copy_header_value(h->meta->error_message, sizeof h->meta->error_message, v, vlen);
    else if (IS("x-linked-size")) copy_header_value(tmp, sizeof tmp, v, vlen), h->linked_size = atoll(tmp);
    else if (IS("content-length")) copy_header_value(tmp, sizeof tmp, v, vlen), h->content_length = atoll(tmp);
#undef IS
    return len;
}

static struct curl_slist *hf_headers(const hub_env *env, int send_auth, int identity) {
    struct curl_slist *list = NULL;
    if (send_auth && env->token) {
        char auth[1200];
        snprintf(auth, sizeof auth, "authorization: Bearer %s", env->token);
        list = curl_slist_append(list, auth);
    }
    if (identity) list = curl_slist_append(list, "Accept-Encoding: identity");
    return list;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* How long a transfer may stay below the minimum rate, in seconds:
 * NT5_HUB_STALL_SECONDS, else huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT, else 30. */
static long stall_seconds(void) {
    const char *v = getenv("NT5_HUB_STALL_SECONDS");
    if (!v || !*v) v = getenv("HF_HUB_DOWNLOAD_TIMEOUT");
    long s = v && *v ? atol(v) : 30;
    return s > 0 ? s : 30;
}

/* The slowest transfer kept going, in bytes per second: NT5_HUB_MIN_RATE, else 1024. */
static long min_rate(void) {
    const char *v = getenv("NT5_HUB_MIN_RATE");
    long r = v && *v ? atol(v) : 1024;
    return r > 0 ? r : 1024;
}

static CURL *new_handle(const char *url, struct curl_slist *headers) {
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    /* a stalled or trickling transfer: below the minimum rate for the stall time counts as dropped */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, min_rate());
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_seconds());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    return c;
}

static int retryable(CURLcode rc, long status) { return rc != CURLE_OK || status == 429 || status >= 500; }

nt5_status hub_http_error(const hub_env *env, long status, const char *error_code, const char *what, const char *url) {
    if (status == 401 && env->token)
        return err_set(NT5_ERR_AUTH,
                       "401 Unauthorized for %s: the Hub refused the token (HF_TOKEN, or the token file): it is "
                       "invalid or expired",
                       what);
    if (status == 401)
        return err_set(NT5_ERR_AUTH,
                       "401 Unauthorized for %s: the repository is private or gated; set HF_TOKEN "
                       "(or save a token with `hf auth login`)",
                       what);
    if (status == 403)
        return err_set(NT5_ERR_AUTH,
                       "403 Forbidden for %s: the token in HF_TOKEN has no access (gated repositories "
                       "need their terms accepted on the Hub)",
                       what);
    if (status == 404) {
        if (error_code && strcmp(error_code, "RepoNotFound") == 0)
            return err_set(NT5_ERR_NOT_FOUND, "repository of %s not found (a private one needs HF_TOKEN)", what);
        if (error_code && strcmp(error_code, "RevisionNotFound") == 0)
            return err_set(NT5_ERR_NOT_FOUND, "revision not found for %s", what);
        if (error_code && strcmp(error_code, "EntryNotFound") == 0)
            return err_set(NT5_ERR_NOT_FOUND, "file %s not found in the repository", what);
        return err_set(NT5_ERR_NOT_FOUND, "%s not found (404 from %s)", what, url);
    }
    return err_set(NT5_ERR_NETWORK, "HTTP %ld for %s (%s)", status, what, url);
}

/* Replaces url's path (and query) with a relative Location's path, keeping
 * the original query, as huggingface_hub does for relative redirects. */
static void follow_relative(char *url, size_t cap, const char *location) {
    char *scheme = strstr(url, "://");
    char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    char *query = strchr(url, '?');
    char saved_query[1024] = "";
    if (query) snprintf(saved_query, sizeof saved_query, "%s", query);
    size_t loc_len = strcspn(location, "?");
    if (!path) path = url + strlen(url);
    snprintf(path, cap - (size_t)(path - url), "%.*s%s", (int)loc_len, location, saved_query);
}

/* What differs between the HEAD and the API requests. */
typedef struct request_opts {
    int head;     /* HEAD, no redirects followed, Accept-Encoding: identity */
    long timeout; /* seconds */
    curl_write_callback on_body;
    void *body;
} request_opts;

/* One request with the HF headers and nt5's handle options, its response
 * headers parsed into h. Returns 0, or -1 when no handle could be made. */
static int request(const hub_env *env, const char *url, const request_opts *o, header_state *h, CURLcode *rc,
                   long *status) {
    struct curl_slist *headers = hf_headers(env, 1, o->head);
    CURL *c = new_handle(url, headers);
    if (!c) {
        curl_slist_free_all(headers);
        return -1;
    }
    if (o->head) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    } else {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, o->on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, o->body);
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout);
    *rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return 0;
}

nt5_status hub_http_head(const hub_env *env, const char *url0, http_meta *meta) {
    nt5_status st = hub_http_init();
    if (st != NT5_OK) return st;
    char url[4096];
    snprintf(url, sizeof url, "%s", url0);
    for (int hops = 0, attempt = 0; hops < 10;) {
        memset(meta, 0, sizeof *meta);
        header_state h = {.meta = meta, .content_length = -1, .linked_size = -1};
        request_opts o = {.head = 1, .timeout = 10};
        CURLcode rc;
        if (request(env, url, &o, &h, &rc, &meta->status) != 0) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        if (retryable(rc, meta->status)) {
            if (++attempt >= ATTEMPTS)
                return rc != CURLE_OK ? err_set(NT5_ERR_NETWORK, "cannot reach %s: %s", url, curl_easy_strerror(rc))
                                      : hub_http_error(env, meta->status, meta->error_code, url, url);
            sleep_backoff(attempt - 1);
            continue;
        }
        int redirect = meta->status >= 300 && meta->status < 400;
        if (redirect && meta->location[0] == '/') { /* relative: follow */
            follow_relative(url, sizeof url, meta->location);
            hops++;
            continue;
        }
        snprintf(meta->etag, sizeof meta->etag, "%s", h.linked_etag[0] ? h.linked_etag : h.etag);
        normalise_etag(meta->etag);
        meta->size = h.linked_size >= 0 ? h.linked_size : redirect ? -1 : h.content_length;
        if (!meta->location[0]) snprintf(meta->location, sizeof meta->location, "%s", url);
        return NT5_OK;
    }
    return err_set(NT5_ERR_NETWORK, "too many redirects from %s", url0);
}

typedef struct text_buf {
    char *data;
    size_t len;
    int failed;
} text_buf;

static size_t on_text(char *p, size_t size, size_t n, void *ud) {
    text_buf *b = ud;
    size_t len = size * n;
    if (b->len + len > (64u << 20)) return 0; /* an API answer is never that big */
    char *grown = realloc(b->data, b->len + len + 1);
    if (!grown) {
        b->failed = 1;
        return 0;
    }
    memcpy(grown + b->len, p, len);
    b->data = grown;
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

nt5_status hub_http_get_text(const hub_env *env, const char *url, char **body, size_t *len) {
    nt5_status st = hub_http_init();
    if (st != NT5_OK) return st;
    for (int attempt = 0;; attempt++) {
        text_buf b = {0};
        http_meta meta = {0};
        header_state h = {.meta = &meta};
        request_opts o = {.head = 0, .timeout = 30, .on_body = on_text, .body = &b};
        CURLcode rc;
        long status;
        if (request(env, url, &o, &h, &rc, &status) != 0) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        if (b.failed) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", url);
        else if (retryable(rc, status) && attempt + 1 < ATTEMPTS) {
            free(b.data);
            sleep_backoff(attempt);
            continue;
        } else if (rc != CURLE_OK) st = err_set(NT5_ERR_NETWORK, "cannot reach %s: %s", url, curl_easy_strerror(rc));
        else if (status >= 400) st = hub_http_error(env, status, meta.error_code, url, url);
        if (st != NT5_OK) {
            free(b.data);
            return st;
        }
        if (!b.data) b.data = calloc(1, 1);
        *body = b.data;
        *len = b.len;
        return b.data ? NT5_OK : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
}

typedef struct download_state {
    http_sink *sink;
    long long written; /* this attempt */
    int restart;       /* the server ignored Range: start over */
    int write_failed, cancelled;
    long status;
} download_state;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    download_state *d = ud;
    size_t len = size * n;
    if (d->restart) { /* the server sent the whole file: drop what we had */
        d->restart = 0;
        if (ftruncate(d->sink->fd, 0) != 0 || lseek(d->sink->fd, 0, SEEK_SET) != 0) {
            d->write_failed = errno;
            return 0;
        }
        d->sink->offset = 0;
    }
    const char *q = p;
    size_t left = len;
    while (left) {
        ssize_t w = write(d->sink->fd, q, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            d->write_failed = errno ? errno : EIO;
            return 0;
        }
        q += w;
        left -= (size_t)w;
    }
    d->written += (long long)len;
    if (d->sink->progress &&
        d->sink->progress(d->sink->file, (uint64_t)(d->sink->offset + d->written),
                          d->sink->total >= 0 ? (uint64_t)d->sink->total : 0, d->sink->user_data)) {
        d->cancelled = 1;
        return 0;
    }
    return len;
}

static size_t on_download_header(char *buf, size_t size, size_t n, void *ud) {
    download_state *d = ud;
    /* the status line of the final response decides between 206 and 200 */
    if (size * n > 9 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', size * n);
        if (sp) d->status = atol(sp + 1);
        if (d->status == 200 && d->sink->range_end >= 0) d->write_failed = EPROTO; /* Range ignored */
        else if (d->status == 200 && d->sink->offset > 0) d->restart = 1;
    }
    return size * n;
}

nt5_status hub_http_download(const hub_env *env, const char *url, int send_auth, http_sink *sink) {
    nt5_status st = hub_http_init();
    if (st != NT5_OK) return st;
    /* An attempt makes progress when it moves the file's end past the
     * furthest it reached before, at the minimum rate or faster; ATTEMPTS
     * attempts in a row without progress end the download (a server that
     * stalls, trickles, or sends the same bytes again and again). */
    long long furthest = lseek(sink->fd, 0, SEEK_END);
    for (int attempt = 0;;) {
        double began = now_seconds();
        download_state d = {.sink = sink};
        struct curl_slist *headers = hf_headers(env, send_auth, 0);
        CURL *c = new_handle(url, headers);
        if (!c) {
            curl_slist_free_all(headers);
            return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        }
        /* resume where the file really ends */
        off_t end = lseek(sink->fd, 0, SEEK_END);
        if (end >= 0) sink->offset = end;
        char range[64];
        if (sink->range_end >= 0) {
            long long next = sink->range_start + (sink->offset - sink->base);
            if (next > sink->range_end) {
                curl_easy_cleanup(c);
                curl_slist_free_all(headers);
                return NT5_OK; /* the range is complete */
            }
            snprintf(range, sizeof range, "%lld-%lld", next, sink->range_end);
            curl_easy_setopt(c, CURLOPT_RANGE, range);
        } else if (sink->offset > 0) {
            snprintf(range, sizeof range, "%lld-", sink->offset);
            curl_easy_setopt(c, CURLOPT_RANGE, range);
        }
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_download_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &d);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        curl_slist_free_all(headers);
        if (d.cancelled)
            return err_set(NT5_ERR_CANCELLED, "download of %s cancelled by the progress callback", sink->file);
        if (d.write_failed == EPROTO)
            return err_set(NT5_ERR_NETWORK, "%s: the server ignored a byte-range request", sink->file);
        if (d.write_failed) return err_set(NT5_ERR_IO, "cannot write %s: %s", sink->file, strerror(d.write_failed));
        if (status == 416 && sink->total >= 0 && sink->offset == sink->total) return NT5_OK; /* already whole */
        if (rc == CURLE_OK && status >= 400 && !retryable(rc, status))
            return hub_http_error(env, status, NULL, sink->file, url);
        if (rc == CURLE_OK && status < 400 && sink->range_end < 0) return NT5_OK;
        if (rc == CURLE_OK && status < 400) { /* a range: loop to check it is complete */
            if (d.written == 0)
                return err_set(NT5_ERR_NETWORK, "%s: an empty answer to a byte-range request", sink->file);
            continue;
        }
        /* dropped or failed: resume where the file ends; progress resets the count */
        long long reached = lseek(sink->fd, 0, SEEK_END);
        if (reached > furthest && (double)(reached - furthest) >= (double)min_rate() * (now_seconds() - began))
            attempt = 0;
        if (reached > furthest) furthest = reached;
        if (++attempt >= ATTEMPTS) {
            if (d.written > 0)
                return err_set(NT5_ERR_NETWORK,
                               "download of %s stalled: %d attempts in a row moved it on slower than %ld bytes/s "
                               "(NT5_HUB_MIN_RATE) or not at all; a transfer is dropped after %ld s below that "
                               "rate (NT5_HUB_STALL_SECONDS)",
                               sink->file, ATTEMPTS, min_rate(), stall_seconds());
            return rc != CURLE_OK
                       ? err_set(NT5_ERR_NETWORK, "download of %s failed: %s", sink->file, curl_easy_strerror(rc))
                       : hub_http_error(env, status, NULL, sink->file, url);
        }
        sleep_backoff(attempt - 1);
    }
}

int hub_same_host(const char *a, const char *b) {
    const char *ha = strstr(a, "://"), *hb = strstr(b, "://");
    if (!ha || !hb) return 0;
    ha += 3, hb += 3;
    size_t na = strcspn(ha, "/?"), nb = strcspn(hb, "/?");
    return na == nb && (size_t)(ha - a) == (size_t)(hb - b) && strncmp(a, b, (size_t)(ha - a) + na) == 0;
}
