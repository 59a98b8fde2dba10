#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: nt5 convert MODEL -o OUT [--to nt5|hf] [--weight-dtype auto|f32|bf16] [--encoder-only]\n"
    "Writes MODEL (a directory, nt5 file or Hub id; safetensors or PyTorch .bin weights) as\n"
    "  --to nt5 (default): one nt5 file OUT: weights in nt5's fused layout, the normalised\n"
    "                      config and the tokenizer; nt5 opens it like a directory;\n"
    "  --to hf:            a new Hugging Face layout directory OUT: model.safetensors,\n"
    "                      config.json, tokenizer files, README.md.\n"
    "Output is written under a temporary name and renamed.\n";

int cmd_convert(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model *m = NULL;
    const char *out = args_value(&a, "--output");
    if (!out) out = args_value(&a, "-o");
    const char *to = args_value(&a, "--to");
    const char *path = args_positional(&a);
    if (!path || !out) {
        fputs(help, stderr);
        rc = 2;
        goto done;
    }
    int hf = to && strcmp(to, "hf") == 0;
    if (to && !hf && strcmp(to, "nt5") != 0) {
        fprintf(stderr, "nt5 convert: --to must be nt5 or hf, not \"%s\"\n", to);
        rc = 2;
        goto done;
    }
    if ((rc = open_model(&a, path, 0, &m)) || (rc = args_finish(&a, "convert"))) goto done;
    nt5_status st = hf ? nt5_model_save_hf(m, out) : nt5_model_save(m, out);
    if (st != NT5_OK) rc = report("convert", st);
done:
    nt5_model_free(m);
    args_free(&a);
    return rc;
}
