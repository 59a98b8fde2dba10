/* Parity with the Hugging Face fixtures: encoder hidden states (masked and
 * unmasked), teacher-forced logits, greedy and beam ids, tokenizer ids and
 * texts, relative-position buckets.
 * usage: test_parity MODEL_DIR [REFERENCE_DIR] */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/dispatch.h"
#include "backend/position_bias.h"
#include "forward/decoder.h"
#include "forward/encoder.h"
#include "generate/teacher_forced.h"
#include "harness_internal.h"
#include "model/model.h"

#define TOL 1e-5
/* the longest fixture prompt has 593 tokens: no truncation at the default 512 */
#define NO_TRUNCATION_LENGTH 4096

typedef struct fixture {
    nt5_model *m;
    reference ref;
    int32_t *batch_ids; /* [B, S] */
    size_t *lengths;    /* [B] */
    size_t B, S, d;
} fixture;

static const cJSON *ref_get(const fixture *f, const char *path) {
    const cJSON *node = f->ref.json;
    char key[128];
    while (*path && node) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        node = cJSON_IsArray(node) ? cJSON_GetArrayItem(node, atoi(key)) : cJSON_GetObjectItemCaseSensitive(node, key);
        path += n + (path[n] == '.');
    }
    return node;
}

static void load_batch(fixture *f) {
    const cJSON *ids = ref_get(f, "batch.input_ids"), *mask = ref_get(f, "batch.attention_mask");
    f->B = (size_t)cJSON_GetArraySize(ids);
    f->S = (size_t)cJSON_GetArraySize(cJSON_GetArrayItem(ids, 0));
    f->batch_ids = malloc(f->B * f->S * sizeof *f->batch_ids);
    f->lengths = calloc(f->B, sizeof *f->lengths);
    for (size_t b = 0; b < f->B; b++) {
        size_t n;
        int32_t *row = json_int_array(cJSON_GetArrayItem(ids, (int)b), &n);
        int32_t *mrow = json_int_array(cJSON_GetArrayItem(mask, (int)b), &n);
        memcpy(f->batch_ids + b * f->S, row, f->S * sizeof *row);
        for (size_t k = 0; k < n; k++) f->lengths[b] += (size_t)mrow[k];
        free(row);
        free(mrow);
    }
}

/* Hidden states of the batch vs a reference tensor, rows where mask is 1
 * (or every row when compare_padding). */
static void check_hidden(const fixture *f, const nt5_embeddings *e, const char *tensor, int compare_padding) {
    size_t n;
    const float *want = reference_tensor(&f->ref, tensor, &n);
    CHECK(want && n == f->B * f->S * f->d, "reference tensor %s", tensor);
    size_t batch, len, d;
    nt5_embeddings_shape(e, &batch, &len, &d);
    CHECK(batch == f->B && len == f->S && d == f->d, "%s: shape [%zu, %zu, %zu]", tensor, batch, len, d);
    if (!want || batch != f->B || len != f->S) return;
    const float *got = nt5_embeddings_data(e);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    size_t k = 0;
    for (size_t r = 0; r < f->B; r++) {
        size_t rows = compare_padding ? f->S : f->lengths[r];
        memcpy(a + k, got + r * f->S * f->d, rows * f->d * sizeof *a);
        memcpy(b + k, want + r * f->S * f->d, rows * f->d * sizeof *b);
        k += rows * f->d;
    }
    double err = rel_l2(a, b, k);
    CHECK(err <= TOL, "%s: relative L2 error %.3g > %g", tensor, err, TOL);
    printf("  %-36s rel L2 %.2e\n", tensor, err);
    free(a);
    free(b);
}

static void check_encoder(fixture *f) {
    nt5_encode_options o;
    nt5_encode_options_init(&o, sizeof o);
    o.max_length = NO_TRUNCATION_LENGTH;
    /* ids packed without their padding: the library pads them itself */
    int32_t *packed = malloc(f->B * f->S * sizeof *packed);
    size_t at = 0;
    for (size_t b = 0; b < f->B; b++) {
        memcpy(packed + at, f->batch_ids + b * f->S, f->lengths[b] * sizeof *packed);
        at += f->lengths[b];
    }
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_ids(f->m, packed, f->lengths, f->B, &o, &e), NT5_OK);
    if (e) check_hidden(f, e, "encoder.last_hidden_state", 0);
    CHECK(e && memcmp(nt5_embeddings_lengths(e), f->lengths, f->B * sizeof *f->lengths) == 0, "lengths returned");
    CHECK(e && memcmp(nt5_embeddings_token_ids(e), f->batch_ids, f->B * f->S * sizeof *packed) == 0, "padded ids");
    nt5_embeddings_free(e);
    e = NULL;
    o.attention = NT5_ATTEND_ALL;
    CHECK_STATUS(nt5_encode_ids(f->m, packed, f->lengths, f->B, &o, &e), NT5_OK);
    if (e) check_hidden(f, e, "encoder.last_hidden_state_nomask", 1);
    nt5_embeddings_free(e);
    /* each prompt alone */
    double worst = 0;
    at = 0;
    o.attention = NT5_ATTEND_MASKED;
    for (size_t b = 0; b < f->B; b++) {
        char name[64];
        snprintf(name, sizeof name, "encoder.single.%zu", b);
        size_t n;
        const float *want = reference_tensor(&f->ref, name, &n);
        e = NULL;
        CHECK_STATUS(nt5_encode_ids(f->m, packed + at, &f->lengths[b], 1, &o, &e), NT5_OK);
        at += f->lengths[b];
        if (want && e && n == f->lengths[b] * f->d) {
            double err = rel_l2(nt5_embeddings_data(e), want, n);
            worst = err > worst ? err : worst;
            CHECK(err <= TOL, "%s: relative L2 error %.3g", name, err);
        } else {
            CHECK(0, "%s: missing or wrong size", name);
        }
        nt5_embeddings_free(e);
    }
    printf("  %-36s rel L2 %.2e (worst)\n", "encoder.single.*", worst);
    free(packed);
}

/* Teacher-forced decoder logits (generate/teacher_forced.h), one token per
 * step through the self-attention cache, for the padded batch. */
static void check_logits(fixture *f) {
    if (!f->m->has_decoder) return;
    size_t T;
    int32_t *dec = json_int_array(ref_get(f, "teacher_forcing.decoder_input_ids"), &T);
    size_t V = (size_t)f->m->cfg.vocab_size, n;
    const float *want = reference_tensor(&f->ref, "decoder.logits", &n);
    CHECK(want && n == f->B * T * V, "decoder.logits reference");
    float *logits = malloc(f->B * T * V * sizeof *logits);
    batch_input in = {f->batch_ids, f->lengths, f->B, f->S};
    CHECK_STATUS(teacher_forced_logits(f->m, &in, dec, T, logits), NT5_OK);
    if (want && n == f->B * T * V) {
        double err = rel_l2(logits, want, n);
        CHECK(err <= TOL, "decoder.logits: relative L2 error %.3g", err);
        printf("  %-36s rel L2 %.2e\n", "decoder.logits (teacher forcing)", err);
        const cJSON *argmax = ref_get(f, "teacher_forcing.argmax");
        for (size_t r = 0; r < f->B * T; r++) {
            const float *row = logits + r * V;
            size_t best = 0;
            for (size_t v = 1; v < V; v++) best = row[v] > row[best] ? v : best;
            int wantid = cJSON_GetArrayItem(cJSON_GetArrayItem(argmax, (int)(r / T)), (int)(r % T))->valueint;
            CHECK((int)best == wantid, "teacher forcing argmax row %zu: %zu vs %d", r, best, wantid);
        }
    }
    free(dec);
    free(logits);
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void check_generation(fixture *f, const char *kind, int beams) {
    if (!f->m->has_decoder) return;
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 20;
    o.num_beams = beams;
    o.max_input_length = NO_TRUNCATION_LENGTH;
    int32_t *packed = malloc(f->B * f->S * sizeof *packed);
    size_t at = 0;
    int matched = 0;
    for (size_t b = 0; b < f->B; b++) {
        memcpy(packed + at, f->batch_ids + b * f->S, f->lengths[b] * sizeof *packed);
        nt5_generation *g = NULL;
        CHECK_STATUS(nt5_generate_ids(f->m, packed + at, &f->lengths[b], 1, &o, &g), NT5_OK);
        at += f->lengths[b];
        const cJSON *item = cJSON_GetArrayItem(ref_get(f, kind), (int)b);
        size_t n_want;
        int32_t *seq = json_int_array(cJSON_GetObjectItem(item, "sequence"), &n_want);
        const int32_t *ids = NULL;
        size_t n = 0;
        const char *text = NULL;
        float score = 0;
        if (g) nt5_generation_get(g, 0, &ids, &n, &text, &score);
        int same = ids && same_ids(ids, n, seq + 1, n_want - 1);
        matched += same;
        CHECK(same, "%s[%zu]: ids differ from the reference", kind, b);
        const cJSON *want_text = cJSON_GetObjectItem(item, "text");
        if (f->m->tok && cJSON_IsString(want_text))
            CHECK(text && strcmp(text, want_text->valuestring) == 0, "%s[%zu]: text \"%s\" vs \"%s\"", kind, b,
                  text ? text : "(null)", want_text->valuestring);
        const cJSON *want_score = cJSON_GetObjectItem(item, "sequence_score");
        if (cJSON_IsNumber(want_score))
            CHECK(fabs(score - want_score->valuedouble) < 1e-4, "%s[%zu]: score %.7f vs %.7f", kind, b, score,
                  want_score->valuedouble);
        free(seq);
        nt5_generation_free(g);
    }
    printf("  %-36s %d of %zu identical\n", kind, matched, f->B);
    /* the whole batch at once gives the same sequences */
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_ids(f->m, packed, f->lengths, f->B, &o, &g), NT5_OK);
    for (size_t b = 0; g && b < f->B; b++) {
        size_t n_want;
        int32_t *seq = json_int_array(cJSON_GetObjectItem(cJSON_GetArrayItem(ref_get(f, kind), (int)b), "sequence"),
                                      &n_want);
        const int32_t *ids;
        size_t n;
        nt5_generation_get(g, b, &ids, &n, NULL, NULL);
        CHECK(same_ids(ids, n, seq + 1, n_want - 1), "%s batched [%zu]: ids differ", kind, b);
        free(seq);
    }
    nt5_generation_free(g);
    free(packed);
}

static void check_tokenizer(fixture *f) {
    if (!f->m->tok) {
        printf("  tokenizer: this directory has no spiece.model; text checks skipped\n");
        return;
    }
    const cJSON *tokenized = ref_get(f, "tokenized");
    const char **texts = calloc(f->B, sizeof *texts);
    for (size_t b = 0; b < f->B; b++) {
        const cJSON *item = cJSON_GetArrayItem(tokenized, (int)b);
        texts[b] = cJSON_GetObjectItem(item, "text")->valuestring;
        size_t n_want, n;
        int32_t *want = json_int_array(cJSON_GetObjectItem(item, "input_ids"), &n_want);
        int32_t ids[2048];
        CHECK_STATUS(nt5_tokenize(f->m, texts[b], 0, ids, 2048, &n), NT5_OK);
        CHECK(same_ids(ids, n, want, n_want), "tokenized[%zu] ids differ", b);
        free(want);
    }
    /* texts through the whole path: tokenize, pad, encode */
    nt5_encode_options o;
    nt5_encode_options_init(&o, sizeof o);
    o.max_length = NO_TRUNCATION_LENGTH;
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_texts(f->m, texts, f->B, &o, &e), NT5_OK);
    if (e) check_hidden(f, e, "encoder.last_hidden_state", 0);
    nt5_embeddings_free(e);
    free(texts);
}

static void check_buckets(fixture *f) {
    const cJSON *rb = ref_get(f, "relative_position_buckets");
    int from = cJSON_GetObjectItem(rb, "relative_position_from")->valueint;
    int nb = cJSON_GetObjectItem(rb, "num_buckets")->valueint, md = cJSON_GetObjectItem(rb, "max_distance")->valueint;
    static const char *const modes[] = {"bidirectional", "causal"};
    for (int m = 0; m < 2; m++) {
        size_t n;
        int32_t *want = json_int_array(cJSON_GetObjectItem(rb, modes[m]), &n);
        int bad = 0;
        for (size_t k = 0; k < n; k++) bad += position_bucket(from + (int64_t)k, m == 0, nb, md) != want[k];
        CHECK(bad == 0, "%s buckets: %d of %zu differ", modes[m], bad, n);
        free(want);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *model_dir = argv[1], *ref_dir = argc > 2 ? argv[2] : argv[1];
    if (access(model_dir, F_OK) != 0) {
        printf("SKIP: %s is absent (third-party fixture read from ../shared)\n", model_dir);
        return SKIP_EXIT;
    }
    fixture f = {0};
    if (reference_load(ref_dir, &f.ref) != 0) return 1;
    f.m = open_model_or_fail(model_dir);
    if (!f.m) return harness_finish(model_dir);
    f.d = (size_t)f.m->cfg.d_model;
    load_batch(&f);
    printf("%s (reference %s): %zu prompts, padded length %zu\n", model_dir, ref_dir, f.B, f.S);
    check_buckets(&f);
    check_tokenizer(&f);
    check_encoder(&f);
    check_logits(&f);
    check_generation(&f, "greedy", 1);
    check_generation(&f, "beam", 4);
    free(f.batch_ids);
    free(f.lengths);
    nt5_model_free(f.m);
    reference_free(&f.ref);
    return harness_finish(model_dir);
}
