#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "growth.h"

static const char help[] =
    "usage: nt5 convert MODEL [-o OUT] [--to nt5|hf] [--dtype auto|f32|bf16|f16|q8_0|q6_k|q5_k|q4_k] [--encoder-only]\n"
    "                   [--fold-norms] [--calibration FILE] [--headroom X] [--force] [--quiet]\n"
    "Writes MODEL (a directory, single .safetensors or .gguf file, nt5 file or Hub reference) as\n"
    "  --to nt5 (default): one nt5 file OUT: weights in nt5's fused layout, the normalised\n"
    "                      config and the tokenizer; nt5 opens it like a directory;\n"
    "  --to hf:            a new Hugging Face layout directory OUT: model.safetensors,\n"
    "                      config.json, tokenizer files, README.md.\n"
    "Without -o, MODEL must be a Hub id: the nt5 file is kept in nt5's cache under the model's\n"
    "commit (<nt5 cache>/models--org--name/<commit>/converted/; the nt5 cache is $NT5_CACHE,\n"
    "else $XDG_CACHE_HOME/nt5, else ~/.cache/nt5), reused when the same\n"
    "options were converted before, and its path is printed.\n"
    "  --dtype        weight matrices: auto (bf16 checkpoints stay bf16, GGUF blocks stay blocks,\n"
    "                 others f32), f32, bf16, or f16 (nt5 only): power-of-two weight scales plus\n"
    "                 input scales from an fp32 calibration run, so that half-precision products\n"
    "                 cannot overflow, or q8_0, q6_k, q5_k, q4_k (nt5 only): ggml's blocks\n"
    "  --fold-norms   multiply the RMSNorm scales into the matrices they feed\n"
    "  --calibration  f16: a file of prompts, one per line (default: 12 built in)\n"
    "  --headroom     f16: factor kept between calibrated maxima and 65504 (default 8)\n"
    "  --force        replace an existing nt5 file OUT (an existing OUT is refused otherwise;\n"
    "                 --to hf always wants a new directory)\n"
    "  --quiet        do not say what was written\n"
    "  --encoder-only, --revision, --cache-dir, --offline, --threads, --tokenizer, --config as for\n"
    "  the other commands. Output is written under a temporary name and renamed.\n";

/* One prompt per non-empty line of path; *lines owns the text. */
static int read_prompts(const char *path, char **text, const char ***lines, size_t *n) {
    size_t len;
    if (!(*text = read_whole_file(path, &len))) {
        perror(path);
        return 1;
    }
    *lines = calloc(len / 2 + 2, sizeof **lines);
    *n = 0;
    for (char *line = strtok(*text, "\n"); *lines && line; line = strtok(NULL, "\n"))
        if (line[strspn(line, " \t\r")]) (*lines)[(*n)++] = line;
    if (*n == 0) fprintf(stderr, "nt5: %s has no prompts\n", path);
    return *n == 0;
}

int cmd_convert(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    char *prompt_text = NULL;
    const char **prompts = NULL;
    nt5_convert_options co;
    nt5_convert_options_init(&co, sizeof co);
    nt5_model_options mo;
    const char *out = args_value(&a, "--output");
    if (!out) out = args_value(&a, "-o");
    const char *to = args_value(&a, "--to"), *dtype = args_value(&a, "--dtype");
    const char *calibration = args_value(&a, "--calibration"), *headroom = args_value(&a, "--headroom");
    co.fold_norm_scales = args_flag(&a, "--fold-norms");
    int force = args_flag(&a, "--force"), quiet = args_flag(&a, "--quiet");
    if ((rc = model_options_from_args(&a, 0, &mo))) goto done;
    const char *path = args_positional(&a);
    co.encoder_only = mo.encoder_only;
    co.source = &mo;
    if (!path) {
        fputs(help, stderr);
        rc = 2;
        goto done;
    }
    co.format = to && strcmp(to, "hf") == 0 ? NT5_FORMAT_HF : NT5_FORMAT_NT5;
    if (to && co.format != NT5_FORMAT_HF && strcmp(to, "nt5") != 0) {
        fprintf(stderr, "nt5 convert: --to must be nt5 or hf, not \"%s\"\n", to);
        rc = 2;
        goto done;
    }
    double room = 0;
    if ((dtype && parse_dtype(dtype, "--dtype", DTYPE_F16 | DTYPE_BLOCKS, &co.dtype)) ||
        (headroom && parse_float(headroom, "--headroom", &room))) {
        rc = 2;
        goto done;
    }
    co.f16_headroom = (float)room;
    if (calibration && (rc = read_prompts(calibration, &prompt_text, &prompts, &co.num_calibration_texts))) goto done;
    co.calibration_texts = prompts;
    if ((rc = args_finish(&a, "convert"))) goto done;
    struct stat sb;
    if (!out && (co.format == NT5_FORMAT_HF || stat(path, &sb) == 0)) {
        fprintf(stderr, "nt5 convert: give -o OUT (only a Hub model converts into the cache without one)\n");
        rc = 2;
        goto done;
    }
    /* an existing output is never replaced silently: --force for an nt5 file, a new directory for --to hf */
    if (out && stat(out, &sb) == 0 && !(force && co.format == NT5_FORMAT_NT5 && S_ISREG(sb.st_mode))) {
        fprintf(stderr, "nt5 convert: %s exists; %s\n", out,
                co.format == NT5_FORMAT_HF ? "give a new directory" : "give --force to replace it");
        rc = 2;
        goto done;
    }
    progress_bar bar;
    progress_attach(&mo, &bar);
    char written[4096];
    size_t len;
    nt5_status st = nt5_convert(path, out, &co, written, sizeof written, &len);
    progress_end(&bar);
    if (st != NT5_OK) rc = report("convert", st);
    else if (!out) printf("%s\n", written);
    else if (!quiet) printf("wrote %s\n", out);
done:
    free(prompts);
    free(prompt_text);
    args_free(&a);
    return rc;
}
