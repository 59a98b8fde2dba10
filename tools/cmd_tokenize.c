#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NT5_EXPERIMENTAL
#include "cli.h"
#include "nt5_experimental.h"

static const char help[] =
    "usage: nt5 tokenize MODEL_DIR TEXT [--no-eos] [--json]\n"
    "       nt5 tokenize MODEL_DIR --decode ID [ID ...] [--skip-special]\n"
    "Shows the token ids of TEXT as T5's tokenizer makes them, or decodes ids. MODEL_DIR may\n"
    "also be a directory holding only a tokenizer (spiece.model, tokenizer_config.json).\n";

#define MAX_IDS 4096

/* The ids to decode, from the positionals left; 0 or the exit code. */
static int read_ids(cli_args *a, int32_t *ids, size_t *n) {
    *n = 0;
    for (const char *p; (p = args_positional(a));) {
        long v;
        if (*n == MAX_IDS) {
            fprintf(stderr, "nt5 tokenize: at most %d ids at a time\n", MAX_IDS);
            return 2;
        }
        if (parse_int(p, "token id", -2147483647L, 2147483647L, &v)) return 2;
        ids[(*n)++] = (int32_t)v;
    }
    return 0;
}

/* Whether dir holds a tokenizer (spiece.model) and no model (no config.json). */
static int tokenizer_only(const char *dir) {
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (stat(path, &sb) == 0) return 0;
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    return stat(path, &sb) == 0;
}

/* The library tokenizes with a model's tokenizer: for a directory holding only
 * a tokenizer, the smallest model (random weights, never run) carries it. */
static int open_tokenizer_only(const char *dir, nt5_model_options *o, nt5_model **m) {
    static const char config[] =
        "{\"model_type\": \"t5\", \"d_model\": 8, \"d_kv\": 8, \"d_ff\": 8, \"num_heads\": 1, \"num_layers\": 1, "
        "\"num_decoder_layers\": 0, \"vocab_size\": 262144}";
    o->tokenizer = dir;
    o->device = "cpu";
    nt5_status st = nt5_model_open_random(config, 0, o, m);
    return st == NT5_OK ? 0 : report(dir, st);
}

static int decode_ids(nt5_model *m, const int32_t *ids, size_t n, int skip_special) {
    size_t len = 0;
    int32_t flags = skip_special ? NT5_DETOKENIZE_SKIP_SPECIAL : 0;
    nt5_status st = nt5_detokenize(m, ids, n, flags, NULL, 0, &len);
    if (st != NT5_OK && st != NT5_ERR_BUFFER_TOO_SMALL) return report("detokenize", st);
    char *text = malloc(len + 1);
    if (!text) return 1;
    st = nt5_detokenize(m, ids, n, flags, text, len + 1, &len);
    if (st == NT5_OK) printf("%s\n", text);
    free(text);
    return st == NT5_OK ? 0 : report("detokenize", st);
}

static int encode_text(nt5_model *m, const char *text, int no_eos, int json) {
    size_t n = 0;
    int32_t *ids = NULL, flags = no_eos ? NT5_TOKENIZE_NO_EOS : 0;
    nt5_status st = nt5_tokenize(m, text, flags, NULL, 0, &n);
    if (st == NT5_ERR_BUFFER_TOO_SMALL || (st == NT5_OK && n == 0)) {
        ids = malloc((n ? n : 1) * sizeof *ids);
        st = ids ? nt5_tokenize(m, text, flags, ids, n, &n) : NT5_ERR_OUT_OF_MEMORY;
    }
    if (st == NT5_OK) {
        printf(json ? "{\"ids\": [" : "");
        for (size_t i = 0; i < n; i++) printf(i ? (json ? ", %d" : " %d") : "%d", ids[i]);
        printf(json ? "]}\n" : "\n");
    }
    free(ids);
    return st == NT5_OK ? 0 : report("tokenize", st);
}

int cmd_tokenize(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    nt5_model *m = NULL;
    int no_eos = args_flag(&a, "--no-eos"), json = args_flag(&a, "--json");
    int decode = args_flag(&a, "--decode"), skip = args_flag(&a, "--skip-special");
    nt5_model_options o;
    int32_t ids[MAX_IDS];
    size_t n_ids = 0;
    int rc = model_flags(&a, 1, &o);
    const char *path = rc ? NULL : args_positional(&a), *text = NULL;
    if (!rc && decode) rc = read_ids(&a, ids, &n_ids);
    else if (!rc) text = args_positional(&a);
    if (!rc && (!path || (!decode && !text))) {
        fputs(help, stderr);
        rc = 2;
    }
    /* every argument is checked before the model is opened (or downloaded) */
    if (!rc && !(rc = args_finish(&a, "tokenize")) &&
        !(rc = tokenizer_only(path) ? open_tokenizer_only(path, &o, &m) : open_model(path, &o, &m)))
        rc = decode ? decode_ids(m, ids, n_ids, skip) : encode_text(m, text, no_eos, json);
    nt5_model_free(m);
    args_free(&a);
    return rc;
}
