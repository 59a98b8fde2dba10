#include "corpus_resume.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus_shard.h"

/* Where the complete shards end: the first input line after them. */
static int resume_line(const corpus_output *o, uint64_t *line) {
    *line = 1;
    if (!o->shards) return 0;
    char path[4200];
    corpus_shard_path(o, o->shards - 1, path, sizeof path);
    return corpus_shard_end_line(path, line);
}

/* Takes one index entry for input line `want` whose caption is `text`
 * (NULL: the line had none): checks them, adds the entry's row. */
static const char *take_entry(const cJSON *e, uint64_t want, const char *text, corpus_table *t, corpus_counts *c) {
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(e, "line");
    if (!cJSON_IsNumber(line) || (uint64_t)line->valuedouble != want) return "its line numbers do not follow the input";
    c->lines++;
    if (cJSON_GetObjectItemCaseSensitive(e, "error")) {
        c->skipped++;
        return NULL;
    }
    const char *hex = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "sha256"));
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(e, "shard"),
                *row = cJSON_GetObjectItemCaseSensitive(e, "row"),
                *length = cJSON_GetObjectItemCaseSensitive(e, "length");
    unsigned char key[32], seen[32];
    char seen_hex[65];
    if (sha256_parse(hex, key) || !cJSON_IsNumber(shard) || !cJSON_IsNumber(row) || !cJSON_IsNumber(length))
        return "an entry is malformed";
    if (!text) return "the input has no caption on a line the index has one for: is it the same input?";
    sha256_text(text, seen, seen_hex);
    if (memcmp(key, seen, 32) != 0) return "a caption differs from the one indexed: is it the same input?";
    if (corpus_table_find(t, key)) {
        c->duplicates++;
        return NULL;
    }
    corpus_row r = {(int64_t)shard->valuedouble, (int64_t)row->valuedouble, (int64_t)length->valuedouble};
    if (corpus_table_add(t, key, r)) return "out of memory";
    c->encoded++;
    c->tokens += (uint64_t)r.length;
    return NULL;
}

int corpus_resume(corpus_output *o, corpus_input *in, corpus_table *t, corpus_counts *c) {
    memset(c, 0, sizeof *c);
    uint64_t end;
    if (resume_line(o, &end)) return 1;
    char *line = NULL;
    size_t cap = 0;
    const char *why = NULL;
    rewind(o->index);
    for (uint64_t want = 1; want < end && !why; want++) {
        const char *text, *error;
        cJSON *e = getline(&line, &cap, o->index) > 0 ? cJSON_Parse(line) : NULL;
        int got = corpus_input_next(in, &text, &error);
        if (got < 0) why = "the input could not be read";
        else if (got == 0) why = "the input ends before the lines already encoded: is it the same input?";
        else if (!e) why = "it ends early or holds a malformed line";
        else why = take_entry(e, want, text, t, c);
        cJSON_Delete(e);
    }
    free(line);
    long kept = why ? -1 : ftell(o->index);
    if (!why && (kept < 0 || ftruncate(fileno(o->index), kept) != 0)) why = "it could not be cut back";
    if (!why) return 0;
    fprintf(stderr, "nt5 encode: cannot resume the run in %s: its index.jsonl does not match %s (line %llu): %s\n",
            o->dir, in->name, (unsigned long long)in->line_no, why);
    return 1;
}
