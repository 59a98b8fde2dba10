/* nt5: command-line front end of libnt5. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "show a model's configuration"},
    {"tokenize", cmd_tokenize, "text to token ids (and back)"},
    {"encode", cmd_encode, "text to encoder hidden states (.npy, .safetensors or a summary)"},
    {"generate", cmd_generate, "generate text (greedy, sampling, beam search), streamed"},
    {"download", cmd_download, "put a Hugging Face model into the local cache"},
    {"convert", cmd_convert, "convert a model: nt5 file (f32, bf16, calibrated f16) or HF layout"},
    {"bench", cmd_bench, "time encode and generate on random-weight models"},
    {"diagnose", cmd_diagnose, "input ranges of every matrix product (f16 headroom, non-finite values)"},
    {"logits", cmd_logits, "teacher-forced decoder logits of a text and given decoder ids"},
};

static int usage(FILE *f) {
    fprintf(f, "usage: nt5 COMMAND [ARGS] (nt5 COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nnt5 %s (ABI %u)\n", nt5_version(), nt5_abi_version());
    return f == stdout ? 0 : 2;
}

static int run(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return usage(stdout);
    if (strcmp(argv[1], "--version") == 0) {
        printf("nt5 %s (ABI %u)\n", nt5_version(), nt5_abi_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "nt5: unknown command \"%s\"\n", argv[1]);
    return usage(stderr);
}

int main(int argc, char **argv) {
    no_blas_threads(argv);
    interrupt_catch();
    int rc = run(argc, argv);
    return finish_output(interrupted() ? 130 : rc);
}
