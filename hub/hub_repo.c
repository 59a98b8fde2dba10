#include "hub/hub_repo.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"

static int id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

static int word_char(char c) { return id_char(c) && c != '-' && c != '.'; }

/* One part of an id: the regex \b[\w\-.]{1,96}\b (it must start and end with
 * a word character). */
static int part_valid(const char *s, size_t n, size_t max) {
    if (n == 0 || n > max || !word_char(s[0]) || !word_char(s[n - 1])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!id_char(s[i])) return 0;
    return 1;
}

int hub_repo_id_valid(const char *id) {
    size_t n = strlen(id);
    const char *slash = strchr(id, '/');
    if (slash && strchr(slash + 1, '/')) return 0;
    if (strstr(id, "--") || strstr(id, "..")) return 0;
    if (n >= 4 && strcmp(id + n - 4, ".git") == 0) return 0;
    if (!slash) return part_valid(id, n, 96);
    return part_valid(id, (size_t)(slash - id), 1000) && part_valid(slash + 1, strlen(slash + 1), 96);
}

nt5_status hub_repo_folder(const char *repo_id, char *out, size_t capacity) {
    size_t w = (size_t)snprintf(out, capacity, "models--");
    for (const char *p = repo_id; *p && w + 3 < capacity; p++) {
        if (*p == '/') {
            out[w++] = '-';
            out[w++] = '-';
        } else {
            out[w++] = *p;
        }
    }
    if (w + 3 >= capacity) return err_set(NT5_ERR_INVALID_ARG, "repo id \"%s\" is too long", repo_id);
    out[w] = '\0';
    return NT5_OK;
}

int hub_filename_safe(const char *name) {
    if (!name[0] || name[0] == '/' || strchr(name, '\\') || strchr(name, ':')) return 0;
    for (const char *seg = name; seg;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return 0;
        seg = end ? end + 1 : NULL;
    }
    return strlen(name) < 1024;
}

int hub_is_commit(const char *revision) {
    if (strlen(revision) != 40) return 0;
    for (const char *p = revision; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}
