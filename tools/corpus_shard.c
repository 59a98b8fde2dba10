#include "corpus_shard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "nt5.h"
#include "output_files.h"

void corpus_shard_init(corpus_shard *s, int32_t dtype, size_t d_model, int32_t pad_id) {
    memset(s, 0, sizeof *s);
    s->dtype = dtype;
    s->pad_id = pad_id;
    s->d_model = d_model;
    s->elem = dtype_size(dtype);
}

void corpus_shard_free(corpus_shard *s) {
    free(s->start);
    free(s->lengths);
    free(s->hidden);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

int corpus_shard_add(corpus_shard *s, const void *hidden, const int32_t *ids, size_t stored, size_t length) {
    size_t held = s->rows ? s->start[s->rows] : 0;
    if (grow_array(&s->start, &s->start_cap, s->rows + 2, sizeof *s->start) ||
        grow_array(&s->lengths, &s->lengths_cap, s->rows + 1, sizeof *s->lengths) ||
        grow_array(&s->ids, &s->ids_cap, held + stored, sizeof *s->ids) ||
        grow_array(&s->hidden, &s->hidden_cap, held + stored, s->d_model * s->elem))
        return -1;
    memcpy(s->hidden + held * s->d_model * s->elem, hidden, stored * s->d_model * s->elem);
    memcpy(s->ids + held, ids, stored * sizeof *ids);
    s->start[s->rows] = held;
    s->lengths[s->rows] = (int64_t)length;
    s->start[++s->rows] = held + stored;
    return 0;
}

/* The longest row's stored positions. */
static size_t longest(const corpus_shard *s) {
    size_t seq = 0;
    for (size_t r = 0; r < s->rows; r++)
        if (s->start[r + 1] - s->start[r] > seq) seq = s->start[r + 1] - s->start[r];
    return seq;
}

/* Writes each row's positions, then `pad` to the longest row: the values of
 * hidden_states (pad: zeros) or of token_ids (pad: the pad id). */
static int write_rows(FILE *f, const corpus_shard *s, const unsigned char *base, size_t width, const void *pad) {
    size_t seq = longest(s);
    for (size_t r = 0; r < s->rows; r++) {
        size_t n = s->start[r + 1] - s->start[r];
        if (fwrite(base + s->start[r] * width, width, n, f) != n) return -1;
        for (size_t p = n; p < seq; p++)
            if (fwrite(pad, width, 1, f) != 1) return -1;
    }
    return 0;
}

static int write_hidden(FILE *f, const void *ctx) {
    const corpus_shard *s = ctx;
    unsigned char *zeros = calloc(s->d_model, s->elem);
    int rc = zeros ? write_rows(f, s, s->hidden, s->d_model * s->elem, zeros) : -1;
    free(zeros);
    return rc;
}

static int write_ids(FILE *f, const void *ctx) {
    const corpus_shard *s = ctx;
    return write_rows(f, s, (const unsigned char *)s->ids, sizeof *s->ids, &s->pad_id);
}

int corpus_shard_write(corpus_shard *s, const char *path, uint64_t first_line, uint64_t end_line) {
    size_t seq = longest(s), n = s->rows;
    char first[24], end[24];
    snprintf(first, sizeof first, "%" PRIu64, first_line);
    snprintf(end, sizeof end, "%" PRIu64, end_line);
    const char *const metadata[] = {"format", CORPUS_SHARD_FORMAT, "first_line", first, "end_line", end};
    st_tensor t[3] = {
        {.name = "hidden_states",
         .dtype = st_dtype_name(s->dtype),
         .rank = 3,
         .shape = {n, seq, s->d_model},
         .bytes = n * seq * s->d_model * s->elem,
         .write = write_hidden,
         .ctx = s},
        {.name = "lengths", .dtype = "I64", .rank = 1, .shape = {n}, .bytes = 8 * n, .data = s->lengths},
        {.name = "token_ids",
         .dtype = "I32",
         .rank = 2,
         .shape = {n, seq},
         .bytes = 4 * n * seq,
         .write = write_ids,
         .ctx = s},
    };
    int rc = write_safetensors_tensors(path, metadata, 6, t, 3);
    s->rows = 0;
    return rc;
}

int corpus_shard_end_line(const char *path, uint64_t *end_line) {
    FILE *f = fopen(path, "rb");
    uint64_t len = 0;
    char *header = NULL;
    cJSON *doc = NULL;
    if (f && fread(&len, 8, 1, f) == 1 && len < (1u << 20) && (header = calloc(len + 1, 1)) != NULL &&
        fread(header, 1, len, f) == len)
        doc = cJSON_Parse(header);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "__metadata__");
    const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "format"));
    const char *end = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "end_line"));
    char *stop = NULL;
    if (end) *end_line = strtoull(end, &stop, 10);
    int ok = format && strcmp(format, CORPUS_SHARD_FORMAT) == 0 && end && stop != end && *stop == '\0';
    if (!ok)
        fprintf(stderr, "nt5 encode: %s is not a shard of an nt5 corpus run%s%s\n", path, f ? "" : ": ",
                f ? "" : strerror(errno));
    cJSON_Delete(doc);
    free(header);
    if (f) fclose(f);
    return !ok;
}
