/* The Hub's HTTP protocol over libcurl: HEAD for file metadata (following
 * only relative redirects, as huggingface_hub does), JSON API calls, and
 * resumable downloads, with retries and huggingface_hub's error meanings. */
#ifndef NT5_HUB_HTTP_H
#define NT5_HUB_HTTP_H

#include <stdint.h>

#include "hub/hub_env.h"

typedef struct http_meta {
    long status;
    char commit[64];     /* X-Repo-Commit */
    char etag[130];      /* normalised X-Linked-Etag or ETag */
    char location[2048]; /* where to download from */
    char error_code[64]; /* X-Error-Code */
    char error_message[256];
    long long size; /* X-Linked-Size, or Content-Length when not a redirect; -1 unknown */
} http_meta;

/* Progress of one file; returns nonzero to cancel. */
typedef int32_t (*http_progress)(const char *file, uint64_t done, uint64_t total, void *user_data);

typedef struct http_sink {
    int fd;           /* appended to */
    long long offset; /* bytes already in fd (sent as Range) */
    long long total;  /* expected size or -1 */
    const char *file; /* for progress */
    http_progress progress;
    void *user_data;
    /* a byte range of the remote file instead of all of it: its bytes
     * [range_start, range_end] (inclusive) are appended after `base`, the
     * size fd had when the range began; range_end < 0 means the whole file */
    long long base, range_start, range_end;
} http_sink;

/* Process-wide libcurl set-up, done once. */
nt5_status hub_http_init(void);
nt5_status hub_http_head(const hub_env *env, const char *url, http_meta *meta);
/* GET into a malloc'ed, NUL-terminated body; 4xx/5xx become errors. */
nt5_status hub_http_get_text(const hub_env *env, const char *url, char **body, size_t *len);
/* GET url into sink->fd from sink->offset on, resuming after dropped
 * connections; send_auth 0 drops the token (another host). */
nt5_status hub_http_download(const hub_env *env, const char *url, int send_auth, http_sink *sink);
/* Whether two URLs have the same scheme, host and port (the token is only
 * sent to the Hub's own host). */
int hub_same_host(const char *a, const char *b);
/* The Hub's error for an HTTP status; `what` names the repo or file (a 401
 * says whether env's token was refused or there was none). */
nt5_status hub_http_error(const hub_env *env, long status, const char *error_code, const char *what, const char *url);

#endif
