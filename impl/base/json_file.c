#include "base/json_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define SMALL_FILE_LIMIT (64u << 20)

nt5_status file_read_all(const char *path, char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(errno == ENOENT ? NT5_ERR_NOT_FOUND : NT5_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    nt5_status st = NT5_OK;
    char *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = err_set(NT5_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    } else if ((unsigned long)len > SMALL_FILE_LIMIT) {
        st = err_set(NT5_ERR_FORMAT, "%s is %ld bytes, more than nt5 reads for a file of its kind", path, len);
    } else if (!(buf = malloc((size_t)len + 1))) {
        st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
    } else if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        st = err_set(NT5_ERR_IO, "short read on %s", path);
    }
    fclose(f);
    if (st != NT5_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *data = buf;
    *size = (size_t)len;
    return NT5_OK;
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
