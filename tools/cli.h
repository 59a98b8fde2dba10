/* Shared pieces of the nt5 command-line tool. */
#ifndef NT5_CLI_H
#define NT5_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "nt5.h"

/* A tiny argument reader: options may come anywhere; positionals are kept
 * in order. */
#define CLI_MAX_KNOWN 64

typedef struct cli_args {
    int argc;
    char **argv;
    int *used;
    const char *known[CLI_MAX_KNOWN]; /* the options the command asked for: what a typo is compared with */
    int n_known;
} cli_args;

int args_init(cli_args *a, int argc, char **argv);
/* args_init, then --help: returns -1 when the command should run, else the
 * exit code (0 after printing help, 1 without memory), with a freed. */
int args_begin(cli_args *a, int argc, char **argv, const char *help);
void args_free(cli_args *a);
/* Value of "--name VALUE" (or "--name=VALUE"), or NULL. */
const char *args_value(cli_args *a, const char *name);
int args_flag(cli_args *a, const char *name);
/* The next positional argument not consumed yet, or NULL. */
const char *args_positional(cli_args *a);
/* Fails (2, with the nearest option the command knows suggested) on any
 * argument not consumed; returns 0 if all were understood. Call it after
 * every option was read and before any work (opening, downloading). */
int args_finish(cli_args *a, const char *command);

/* Parses an integer/float option (returns 0 ok, prints an error otherwise). */
int parse_int(const char *text, const char *name, long min, long max, long *out);
int parse_float(const char *text, const char *name, double *out);

/* "auto", "f32", "bf16", and those of `extra` (DTYPE_F16; DTYPE_BLOCKS:
 * "q8_0", "q6_k", "q5_k", "q4_k") for the option `name`; 0 on success. */
#define DTYPE_F16 1
#define DTYPE_BLOCKS 2
int parse_dtype(const char *text, const char *name, int extra, int32_t *out);
/* "f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q4_k" for an NT5_DTYPE_*,
 * "?" for another value. */
const char *dtype_name(int32_t dtype);
/* Prints "nt5: what: <library message>" and returns 1. */
int report(const char *what, nt5_status st);
/* The same for a call whose message another thread kept (nt5_last_error() is per thread). */
int report_message(const char *what, nt5_status st, const char *message);
/* The progress line on a terminal (quiet when stderr is not one or
 * HF_HUB_DISABLE_PROGRESS_BARS is set). */
typedef struct progress_bar {
    int draw; /* on a terminal, progress bars not disabled; else the callback only watches for Ctrl-C */
    char what[256];
    double start, last_draw, rate; /* rate: bytes/s, smoothed */
    uint64_t last_done;
} progress_bar;
/* Sets o's callback: it draws on p when drawing is wanted, and cancels after Ctrl-C. */
void progress_attach(nt5_model_options *o, progress_bar *p);
/* Ends the line drawn, if any. */
void progress_end(progress_bar *p);

/* Model options from --threads / --encoder-only / --revision / --cache-dir /
 * --offline / --refuse-non-finite / --tokenizer; returns 0 or the exit code. */
int model_options_from_args(cli_args *a, int encoder_only, nt5_model_options *o);
/* Those and --device / --tf32 / --weight-dtype: every option of a command
 * that opens a model, read before its positional arguments (so that no
 * option's value is taken for one). */
int model_flags(cli_args *a, int encoder_only, nt5_model_options *o);
/* Opens a model (directory, file or Hub id), drawing download progress. */
int open_model(const char *path, nt5_model_options *o, nt5_model **out);
/* Reads "MODEL_DIR TEXT [TEXT ...]" (after the options), opens the model
 * and checks nothing is left over. *texts must hold argc entries. Returns 0
 * or the exit code (2 with the usage printed). */
int model_and_texts(cli_args *a, const char *command, const char *help, int encoder_only, nt5_model **m,
                    const char **texts, size_t *n);
/* Writes s as a JSON string literal. */
void json_string(FILE *f, const char *s);
/* Writes v with printf's %.*g (digits), or null when it is NaN or infinite
 * (JSON has no such numbers). */
void json_number(FILE *f, double v, int digits);
/* The command's exit status once its output is flushed: 1, with a message,
 * when stdout could not be written (a full disk, a closed pipe), else rc. */
int finish_output(int rc);

/* Ctrl-C and SIGTERM (interrupt.c): caught, so that the library's callbacks
 * cancel its work and it removes what it was writing; interrupted() says
 * whether one came (the command then exits 130). */
void interrupt_catch(void);
int interrupted(void);

/* Starts the tool again without OpenBLAS's own threads (blas_threads.c);
 * returns when they are already off or the restart failed. */
void no_blas_threads(char **argv);

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
int cmd_logits(int argc, char **argv);

#endif
