#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: nt5 tokenize MODEL_DIR TEXT [--no-eos] [--json]\n"
    "       nt5 tokenize MODEL_DIR --decode ID [ID ...] [--skip-special]\n"
    "Shows the token ids of TEXT as T5's tokenizer makes them, or decodes ids.\n";

static int decode_ids(cli_args *a, nt5_model *m, int skip_special) {
    int32_t ids[4096];
    size_t n = 0;
    for (const char *p; (p = args_positional(a)) && n < 4096;) {
        long v;
        if (parse_int(p, "token id", -2147483647L, 2147483647L, &v)) return 2;
        ids[n++] = (int32_t)v;
    }
    size_t len = 0;
    nt5_status st = nt5_detokenize(m, ids, n, skip_special ? NT5_DETOKENIZE_SKIP_SPECIAL : 0, NULL, 0, &len);
    if (st != NT5_OK && st != NT5_ERR_BUFFER_TOO_SMALL) return report("detokenize", st);
    char *text = malloc(len + 1);
    if (!text) return 1;
    st = nt5_detokenize(m, ids, n, skip_special ? NT5_DETOKENIZE_SKIP_SPECIAL : 0, text, len + 1, &len);
    if (st == NT5_OK) printf("%s\n", text);
    free(text);
    return st == NT5_OK ? 0 : report("detokenize", st);
}

int cmd_tokenize(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model *m = NULL;
    int32_t *ids = NULL;
    int no_eos = args_flag(&a, "--no-eos"), json = args_flag(&a, "--json");
    int decode = args_flag(&a, "--decode"), skip = args_flag(&a, "--skip-special");
    nt5_model_options o;
    if ((rc = model_flags(&a, 1, &o))) goto done;
    const char *path = args_positional(&a);
    if (!path) {
        fputs(help, stderr);
        rc = 2;
        goto done;
    }
    if ((rc = open_model(path, &o, &m))) goto done;
    if (decode) {
        rc = decode_ids(&a, m, skip);
        goto done;
    }
    const char *text = args_positional(&a);
    if (!text || (rc = args_finish(&a, "tokenize"))) {
        if (!text) fputs(help, stderr);
        rc = 2;
        goto done;
    }
    size_t n = 0;
    nt5_status st = nt5_tokenize(m, text, no_eos ? NT5_TOKENIZE_NO_EOS : 0, NULL, 0, &n);
    if (st == NT5_ERR_BUFFER_TOO_SMALL || (st == NT5_OK && n == 0)) {
        ids = malloc((n ? n : 1) * sizeof *ids);
        st = ids ? nt5_tokenize(m, text, no_eos ? NT5_TOKENIZE_NO_EOS : 0, ids, n, &n) : NT5_ERR_OUT_OF_MEMORY;
    }
    if (st != NT5_OK) {
        rc = report("tokenize", st);
        goto done;
    }
    printf(json ? "{\"ids\": [" : "");
    for (size_t i = 0; i < n; i++) printf(i ? (json ? ", %d" : " %d") : "%d", ids[i]);
    printf(json ? "]}\n" : "\n");
done:
    free(ids);
    nt5_model_free(m);
    args_free(&a);
    return rc;
}
