#include "base/json_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/regular_file.h"

#define SMALL_FILE_LIMIT (64u << 20)

/* All n bytes at fd into buf; 0 when the file ended early or a read failed. */
static int read_fully(int fd, char *buf, size_t n) {
    for (size_t done = 0; done < n;) {
        ssize_t got = read(fd, buf + done, n - done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return 0;
        done += (size_t)got;
    }
    return 1;
}

nt5_status file_read_all(const char *path, char **data, size_t *size) {
    int fd;
    uint64_t len;
    nt5_status st = regular_file_open(path, &fd, &len);
    if (st != NT5_OK) return st;
    char *buf = NULL;
    if (len > SMALL_FILE_LIMIT)
        st = err_set(NT5_ERR_FORMAT, "%s is %llu bytes, more than nt5 reads for a file of its kind", path,
                     (unsigned long long)len);
    else if (!(buf = malloc((size_t)len + 1))) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
    else if ((errno = 0, !read_fully(fd, buf, (size_t)len)))
        st = err_set(NT5_ERR_IO, "cannot read %s: %s", path, errno ? strerror(errno) : "it is shorter than it was");
    close(fd);
    if (st != NT5_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *data = buf;
    *size = (size_t)len;
    return NT5_OK;
}

static int by_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

const char *json_duplicate_key(const cJSON *object) {
    size_t n = 0;
    for (const cJSON *it = object->child; it; it = it->next) n++;
    if (n < 2) return NULL;
    const cJSON **members = malloc(n * sizeof *members);
    if (!members) return NULL; /* out of memory: the check is skipped, nothing else changes */
    n = 0;
    for (const cJSON *it = object->child; it; it = it->next)
        if (it->string) members[n++] = it;
    qsort(members, n, sizeof *members, by_key);
    const char *twice = NULL;
    for (size_t i = 1; i < n && !twice; i++)
        if (strcmp(members[i - 1]->string, members[i]->string) == 0) twice = members[i]->string;
    free(members);
    return twice;
}

nt5_status json_parse_object(const char *text, size_t len, const char *what, cJSON **out) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - text) : 0;
        return err_set(NT5_ERR_FORMAT, "%s is not valid JSON (error near byte %zu)", what, at);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(NT5_ERR_FORMAT, "%s is JSON but not an object", what);
    }
    const char *twice = json_duplicate_key(root);
    if (twice) {
        nt5_status st = err_set(NT5_ERR_FORMAT, "%s: key \"%.200s\" appears twice", what, twice);
        cJSON_Delete(root);
        return st;
    }
    *out = root;
    return NT5_OK;
}

nt5_status json_read_file(const char *path, cJSON **out) {
    char *text;
    size_t len;
    nt5_status st = file_read_all(path, &text, &len);
    if (st != NT5_OK) return st;
    st = json_parse_object(text, len, path, out);
    free(text);
    return st;
}
