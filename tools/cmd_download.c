#include <stdio.h>

#include "cli.h"

static const char help[] =
    "usage: nt5 download REFERENCE [--revision REV] [--cache-dir DIR] [--offline]\n"
    "Puts the files nt5 needs of a Hugging Face model (config, tokenizer, weights) into the\n"
    "huggingface_hub cache, shared with the Python tools, and prints where they are. REFERENCE:\n"
    "org/name, org/name/folder (a pipeline component), org/name/file.safetensors (one file) or\n"
    "org/name:QUANT (a .gguf file of that quantization), each with an optional @revision.\n"
    "Honours HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN and HF_HUB_OFFLINE. A progress bar is\n"
    "drawn on a terminal unless HF_HUB_DISABLE_PROGRESS_BARS is set.\n";

int cmd_download(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model_options o;
    const char *id = args_positional(&a);
    if ((rc = model_options_from_args(&a, 0, &o))) goto done;
    if (!id) {
        fputs(help, stderr);
        rc = 2;
        goto done;
    }
    if ((rc = args_finish(&a, "download"))) goto done;
    progress_bar bar;
    progress_attach(&o, &bar);
    char dir[4096];
    size_t len;
    nt5_status st = nt5_hub_download(id, &o, dir, sizeof dir, &len);
    progress_end(&bar);
    if (st != NT5_OK) rc = report(id, st);
    else printf("%s\n", dir);
done:
    args_free(&a);
    return rc;
}
