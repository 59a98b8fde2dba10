#define NT5_EXPERIMENTAL
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nt5_experimental.h"
#include "output_files.h"

static const char help[] =
    "usage: nt5 logits MODEL TEXT --decoder-ids ID,ID,... [-o FILE.npy] [--device D] [--threads N]\n"
    "                  [--weight-dtype auto|f32|bf16|f16|q8_0|q6_k|q5_k|q4_k]\n"
    "Teacher forcing: encodes TEXT (tokenized as nt5 tokenize does, at most 4096 ids), runs the\n"
    "decoder on the given ids (the first is normally the decoder start token, 0) and prints, for\n"
    "every step, the id fed, the id of the largest logit and that logit; with -o the logits go to\n"
    "FILE.npy, float32 [1, steps, vocab].\n"
    "For accuracy checks against other engines (bench/quant_accuracy.py). Experimental.\n";

/* "3,17,5" -> ids (malloc'ed), *n; 0 or the exit code (printed) */
static int parse_ids(const char *text, int32_t **ids, size_t *n) {
    size_t cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    *ids = malloc(cap * sizeof **ids);
    char *copy = strdup(text);
    int rc = *ids && copy ? 0 : 1;
    *n = 0;
    for (char *save = NULL, *tok = rc ? NULL : strtok_r(copy, ",", &save); tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        long v;
        rc = parse_int(tok, "--decoder-ids", 0, INT32_MAX, &v);
        (*ids)[(*n)++] = (int32_t)v;
    }
    if (rc == 0 && *n == 0) {
        fprintf(stderr, "nt5 logits: --decoder-ids names no id\n");
        rc = 2;
    }
    free(copy);
    return rc;
}

/* per step: the id fed, the argmax and its logit */
static void print_steps(const int32_t *ids, size_t n, const float *logits, size_t V) {
    printf("%6s %10s %10s %14s\n", "step", "fed", "argmax", "logit");
    for (size_t t = 0; t < n; t++) {
        const float *row = logits + t * V;
        size_t best = 0;
        for (size_t v = 1; v < V; v++) best = row[v] > row[best] ? v : best;
        printf("%6zu %10d %10zu %14.6g\n", t, ids[t], best, (double)row[best]);
    }
}

int cmd_logits(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    const char *ids_text = args_value(&a, "--decoder-ids"), *out = args_value(&a, "-o");
    nt5_model *m = NULL;
    size_t n_texts = 0, n = 0;
    int32_t *ids = NULL;
    int rc = ids_text ? 0 : (fprintf(stderr, "nt5 logits: --decoder-ids is required\n%s", help), 2);
    if (rc == 0) rc = parse_ids(ids_text, &ids, &n);
    /* model_and_texts takes any number of texts (into argc entries): one is wanted */
    const char **texts = rc == 0 ? calloc((size_t)argc + 1, sizeof *texts) : NULL;
    if (rc == 0) rc = texts ? model_and_texts(&a, "logits", help, 0, &m, texts, &n_texts) : 1;
    if (rc == 0 && n_texts != 1) {
        fprintf(stderr, "nt5 logits: give one TEXT, not %zu\n%s", n_texts, help);
        rc = 2;
    }
    nt5_model_info info = {.struct_size = sizeof info};
    if (rc == 0 && nt5_model_get_info(m, &info) != NT5_OK) rc = report("logits", NT5_ERR_INTERNAL);
    size_t V = (size_t)info.vocab_size;
    float *logits = rc == 0 ? malloc(n * V * sizeof *logits) : NULL;
    if (rc == 0 && !logits) rc = report("logits", NT5_ERR_OUT_OF_MEMORY);
    int32_t input[4096];
    size_t n_input = 0;
    if (rc == 0) {
        nt5_status st = nt5_tokenize(m, texts[0], 0, input, sizeof input / sizeof *input, &n_input);
        if (st == NT5_OK) st = nt5_teacher_forced_logits(m, input, n_input, ids, n, logits, n * V);
        if (st != NT5_OK) rc = report("logits", st);
    }
    if (rc == 0 && out) {
        size_t shape[3] = {1, n, V};
        rc = write_npy(out, logits, NT5_DTYPE_F32, shape);
    } else if (rc == 0) {
        print_steps(ids, n, logits, V);
    }
    free(logits);
    free(texts);
    free(ids);
    nt5_model_free(m);
    args_free(&a);
    return rc;
}
