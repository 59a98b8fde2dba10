#include "hub/hub_ref.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "hub/hub_repo.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int hub_ref_is_file(const hub_ref *ref) {
    return ends_with(ref->path, ".safetensors") || ends_with(ref->path, ".gguf");
}

static int quant_valid(const char *q) {
    if (!*q) return 0;
    for (; *q; q++)
        if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_')) return 0;
    return 1;
}

/* Copies n bytes of src into dst[cap] as a string; 0 when it does not fit. */
static int copy(char *dst, size_t cap, const char *src, size_t n) {
    if (n >= cap) return 0;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 1;
}

/* NULL, or why `text` is not a reference. */
static const char *parse(const char *text, hub_ref *ref) {
    memset(ref, 0, sizeof *ref);
    const char *at = strchr(text, '@');
    size_t body = at ? (size_t)(at - text) : strlen(text);
    if (at && (!at[1] || !copy(ref->revision, sizeof ref->revision, at + 1, strlen(at + 1))))
        return "the revision after '@' is empty or too long";
    const char *colon = memchr(text, ':', body);
    if (colon) {
        if (!copy(ref->quant, sizeof ref->quant, colon + 1, body - (size_t)(colon + 1 - text)) ||
            !quant_valid(ref->quant))
            return "the quantization after ':' must be letters, digits and _";
        body = (size_t)(colon - text);
    }
    /* org/name, then the path in the repo */
    const char *first = memchr(text, '/', body);
    const char *second = first ? memchr(first + 1, '/', body - (size_t)(first + 1 - text)) : NULL;
    size_t id_len = second ? (size_t)(second - text) : body;
    if (!copy(ref->repo_id, sizeof ref->repo_id, text, id_len) || !hub_repo_id_valid(ref->repo_id))
        return "not a valid repo id (org/name)";
    if (second) {
        size_t n = body - id_len - 1;
        while (n > 0 && second[n] == '/') n--; /* a trailing '/' */
        if (n > 0 && (!copy(ref->path, sizeof ref->path, second + 1, n) || !hub_filename_safe(ref->path)))
            return "the path in the repo is empty, too long or unsafe";
    }
    if (ref->quant[0] && ref->path[0]) return "give a file of the repo or :QUANT, not both";
    return NULL;
}

nt5_status hub_ref_parse(const char *text, hub_ref *ref) {
    const char *why = parse(text, ref);
    return why ? err_set(NT5_ERR_INVALID_ARG, "\"%s\": %s", text, why) : NT5_OK;
}

/* Whether the directory holding `text` exists here: then a missing `text`
 * is a local path mistyped ("models/t5-smal"), not a Hub reference. */
static int parent_exists(const char *text) {
    const char *slash = strrchr(text, '/');
    char parent[1024];
    struct stat sb;
    return slash && (size_t)(slash - text) < sizeof parent &&
           snprintf(parent, sizeof parent, "%.*s", (int)(slash - text), text) > 0 && stat(parent, &sb) == 0;
}

int hub_looks_like_ref(const char *text) {
    struct stat sb;
    hub_ref ref;
    return stat(text, &sb) != 0 && !parent_exists(text) && parse(text, &ref) == NULL;
}
