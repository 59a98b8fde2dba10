#include "corpus_input.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int corpus_input_open(corpus_input *in, const char *path, const char *field) {
    memset(in, 0, sizeof *in);
    in->field = field;
    in->name = strcmp(path, "-") == 0 ? "standard input" : path;
    in->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (in->f) return 0;
    fprintf(stderr, "nt5 encode: cannot read %s: %s\n", path, strerror(errno));
    return 1;
}

uint64_t corpus_input_count(const char *path) {
    struct stat st;
    FILE *f = strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    if (!f) return 0;
    uint64_t lines = 0;
    char buf[1 << 16];
    int last = '\n';
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0; last = buf[n - 1])
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++) lines++;
    fclose(f);
    return lines + (last != '\n'); /* a last line without its newline counts too */
}

/* The caption of a JSON line: a copy of its string field, or NULL with why. */
static char *json_caption(const char *line, const char *field, const char **error) {
    cJSON *doc = cJSON_Parse(line);
    const cJSON *value = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, field) : NULL;
    char *text = cJSON_IsString(value) ? strdup(value->valuestring) : NULL;
    *error = !doc || !cJSON_IsObject(doc) ? "not a JSON object"
             : !value                     ? "no such field"
             : !cJSON_IsString(value)     ? "the field is not a string"
             : !text                      ? "out of memory"
                                          : NULL;
    cJSON_Delete(doc);
    return text;
}

int corpus_input_next(corpus_input *in, const char **text, const char **error) {
    free(in->text != in->line ? in->text : NULL);
    in->text = NULL;
    *text = *error = NULL;
    errno = 0;
    ssize_t n = getline(&in->line, &in->cap, in->f);
    if (n < 0) {
        if (!ferror(in->f)) return 0;
        fprintf(stderr, "nt5 encode: cannot read %s: %s\n", in->name, strerror(errno ? errno : EIO));
        return -1;
    }
    in->line_no++;
    if (n > 0 && in->line[n - 1] == '\n') in->line[--n] = '\0';
    if (n > 0 && in->line[n - 1] == '\r') in->line[--n] = '\0';
    if (strlen(in->line) != (size_t)n) *error = "the line holds a NUL byte";
    else if (!in->field) in->text = in->line;
    else in->text = json_caption(in->line, in->field, error);
    *text = in->text;
    return 1;
}

void corpus_input_close(corpus_input *in) {
    free(in->text != in->line ? in->text : NULL);
    free(in->line);
    if (in->f && in->f != stdin) fclose(in->f);
    memset(in, 0, sizeof *in);
}
