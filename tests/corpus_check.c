/* Checks a corpus run of `nt5 encode --input` against the library, caption
 * by caption: every index line's row equals, bit for bit, what one
 * nt5_encode_texts call on that caption alone gives (its hidden states at
 * the stored positions, zeros past them, its token ids and length), every
 * distinct caption has exactly one row and every row one caption.
 *
 * usage: corpus_check MODEL INPUT DIR   (INPUT as the run read it; the
 * options, the threads of each call among them, come from
 * DIR/manifest.json) */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nt5.h"

#define MAX_SHARDS 4096

typedef struct shard {
    unsigned char *bytes; /* the whole file */
    const unsigned char *hidden, *lengths, *ids;
    size_t rows, seq, d;
    unsigned char *seen; /* [rows] rows an index line named as a caption's first */
} shard;

static int fail(const char *what, long line) {
    static int said;
    if (said++ < 20) fprintf(stderr, "corpus_check: line %ld: %s\n", line, what); /* the first faults */
    return 1;
}

static const unsigned char *tensor(const shard *s, const cJSON *header, const char *name, size_t *dims) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(header, name);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape"),
                *range = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    for (int i = 0; i < cJSON_GetArraySize(shape); i++) dims[i] = (size_t)cJSON_GetArrayItem(shape, i)->valuedouble;
    uint64_t hlen;
    memcpy(&hlen, s->bytes, 8);
    return s->bytes + 8 + hlen + (size_t)cJSON_GetArrayItem(range, 0)->valuedouble;
}

static int load_shard(const char *dir, int k, shard *s) {
    char path[4200];
    snprintf(path, sizeof path, "%s/shard-%05d.safetensors", dir, k);
    size_t len;
    if (!(s->bytes = (unsigned char *)read_file(path, &len))) return -1;
    uint64_t hlen;
    memcpy(&hlen, s->bytes, 8);
    char *text = strndup((const char *)s->bytes + 8, hlen);
    cJSON *h = cJSON_Parse(text);
    size_t dims[3] = {0}, ldims[1], idims[2];
    s->hidden = tensor(s, h, "hidden_states", dims);
    s->lengths = tensor(s, h, "lengths", ldims);
    s->ids = tensor(s, h, "token_ids", idims);
    s->rows = dims[0], s->seq = dims[1], s->d = dims[2];
    s->seen = calloc(s->rows + 1, 1);
    cJSON_Delete(h);
    free(text);
    return ldims[0] == s->rows && idims[0] == s->rows && idims[1] == s->seq ? 0 : -2;
}

/* The options the run used, from its manifest. */
static void run_options(const cJSON *manifest, nt5_encode_options *o, const char **field) {
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(manifest, "options");
    const char *padding = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "padding"));
    const char *attention = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "attention"));
    const char *dtype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "dtype"));
    nt5_encode_options_init(o, sizeof *o);
    o->padding = strcmp(padding, "max_length") == 0 ? NT5_PADDING_MAX_LENGTH : NT5_PADDING_LONGEST;
    o->attention = strcmp(attention, "all") == 0 ? NT5_ATTEND_ALL : NT5_ATTEND_MASKED;
    o->max_length = (int32_t)cJSON_GetObjectItemCaseSensitive(opts, "max_length")->valuedouble;
    o->truncation = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "truncation"));
    o->zero_padding = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "zero_padding"));
    o->output_dtype = strcmp(dtype, "f32") == 0   ? NT5_DTYPE_F32
                      : strcmp(dtype, "f16") == 0 ? NT5_DTYPE_F16
                                                  : NT5_DTYPE_BF16;
    *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "field"));
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(opts, "threads_per_batch");
    o->num_threads = cJSON_IsNumber(threads) ? (int32_t)threads->valuedouble : 0;
}

/* One index line against its shard row. */
static int check_entry(nt5_model *m, const nt5_encode_options *o, const char *text, const cJSON *e, shard *shards,
                       int n_shards, long line) {
    int k = (int)cJSON_GetObjectItemCaseSensitive(e, "shard")->valuedouble;
    size_t row = (size_t)cJSON_GetObjectItemCaseSensitive(e, "row")->valuedouble;
    size_t length = (size_t)cJSON_GetObjectItemCaseSensitive(e, "length")->valuedouble;
    if (k < 0 || k >= n_shards || row >= shards[k].rows) return fail("row out of range", line);
    shard *s = &shards[k];
    nt5_embeddings *emb = NULL;
    if (nt5_encode_texts(m, &text, 1, o, &emb) != NT5_OK) return fail(nt5_last_error(), line);
    size_t seq, d, elem = o->output_dtype == NT5_DTYPE_F32 ? 4 : 2;
    nt5_embeddings_shape(emb, NULL, &seq, &d);
    int64_t stored_length;
    memcpy(&stored_length, s->lengths + 8 * row, 8);
    const unsigned char *got = s->hidden + row * s->seq * s->d * elem, *want = nt5_embeddings_data(emb);
    size_t keep = o->padding == NT5_PADDING_MAX_LENGTH ? seq : length, rc = 0;
    if (nt5_embeddings_lengths(emb)[0] != length || (size_t)stored_length != length) rc = fail("length differs", line);
    else if (d != s->d || seq > s->seq) rc = fail("shape differs", line);
    else if (memcmp(got, want, keep * d * elem) != 0) rc = fail("hidden states differ from a single call", line);
    else if (memcmp(s->ids + 4 * row * s->seq, nt5_embeddings_token_ids(emb), 4 * keep) != 0)
        rc = fail("token ids differ", line);
    for (size_t i = keep * d * elem; !rc && i < s->seq * d * elem; i++)
        if (got[i]) rc = fail("padding past the stored positions is not zero", line);
    nt5_embeddings_free(emb);
    return (int)rc;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: corpus_check MODEL INPUT DIR\n");
        return 2;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", argv[3]);
    size_t len;
    char *text = read_file(path, &len);
    cJSON *manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    nt5_encode_options o;
    const char *field;
    nt5_model *m = NULL;
    nt5_model_options mo;
    nt5_model_options_init(&mo, sizeof mo);
    if (!manifest) return fail("cannot read the manifest", 0);
    run_options(manifest, &o, &field);
    mo.num_threads = o.num_threads; /* a model with the threads each of the run's calls had */
    if (nt5_model_open(argv[1], &mo, &m) != NT5_OK) return fail("cannot open the model", 0);
    static shard shards[MAX_SHARDS];
    int n_shards = 0;
    while (n_shards < MAX_SHARDS && load_shard(argv[3], n_shards, &shards[n_shards]) == 0) n_shards++;
    snprintf(path, sizeof path, "%s/index.jsonl", argv[3]);
    FILE *in = fopen(argv[2], "rb"), *index = fopen(path, "rb");
    char *line = NULL, *entry = NULL;
    size_t line_cap = 0, entry_cap = 0;
    long n = 0, rows = 0, bad = 0, errors = 0, n_keys = 0;
    char(*keys)[65] = NULL; /* the sha256 of every caption indexed to a row */
    while (in && index && getline(&line, &line_cap, in) > 0) {
        n++;
        line[strcspn(line, "\n")] = '\0';
        cJSON *e = getline(&entry, &entry_cap, index) > 0 ? cJSON_Parse(entry) : NULL;
        cJSON *doc = field ? cJSON_Parse(line) : NULL;
        const char *caption = field ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, field)) : line;
        if (!e || cJSON_GetObjectItemCaseSensitive(e, "line")->valuedouble != n) bad += fail("no index line", n);
        else if (cJSON_GetObjectItemCaseSensitive(e, "error")) errors++;
        else if (check_entry(m, &o, caption, e, shards, n_shards, n)) bad++;
        else {
            shard *s = &shards[(int)cJSON_GetObjectItemCaseSensitive(e, "shard")->valuedouble];
            size_t row = (size_t)cJSON_GetObjectItemCaseSensitive(e, "row")->valuedouble;
            rows += !s->seen[row]; /* repeats name a row seen before */
            s->seen[row] = 1;
            char(*grown)[65] = realloc(keys, (size_t)(n_keys + 1) * sizeof *keys);
            if (grown)
                snprintf((keys = grown)[n_keys++], 65, "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "sha256")));
        }
        cJSON_Delete(doc);
        cJSON_Delete(e);
    }
    long total_rows = 0;
    for (int k = 0; k < n_shards; k++) total_rows += (long)shards[k].rows;
    if (rows != total_rows) bad += fail("some shard rows belong to no index line", 0);
    qsort(keys, (size_t)n_keys, sizeof *keys, (int (*)(const void *, const void *))strcmp);
    long distinct = n_keys > 0;
    for (long i = 1; i < n_keys; i++) distinct += strcmp(keys[i - 1], keys[i]) != 0;
    if (distinct != total_rows) bad += fail("a caption has more than one row, or rows are shared", 0);
    free(keys);
    if (!in || !index || getline(&entry, &entry_cap, index) > 0)
        bad += fail("the index and the input differ in length", n);
    printf("corpus_check: %ld lines, %ld rows in %d shards, %ld skipped lines, %ld faults\n", n, total_rows, n_shards,
           errors, bad);
    for (int k = 0; k < n_shards; k++) free(shards[k].bytes), free(shards[k].seen);
    free(line);
    free(entry);
    if (in) fclose(in);
    if (index) fclose(index);
    cJSON_Delete(manifest);
    nt5_model_free(m);
    return bad != 0;
}
