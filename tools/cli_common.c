#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int args_init(cli_args *a, int argc, char **argv) {
    a->argc = argc;
    a->argv = argv;
    a->n_known = 0;
    a->used = calloc((size_t)argc + 1, sizeof *a->used);
    return a->used ? 0 : -1;
}

void args_free(cli_args *a) { free(a->used); }

int args_begin(cli_args *a, int argc, char **argv, const char *help) {
    if (args_init(a, argc, argv)) return 1;
    if (!args_flag(a, "--help")) return -1;
    fputs(help, stdout);
    args_free(a);
    return 0;
}

static void know(cli_args *a, const char *name) {
    if (a->n_known < CLI_MAX_KNOWN) a->known[a->n_known++] = name;
}

const char *args_value(cli_args *a, const char *name) {
    size_t n = strlen(name);
    know(a, name);
    for (int i = 0; i < a->argc; i++) {
        if (a->used[i]) continue;
        if (strcmp(a->argv[i], name) == 0 && i + 1 < a->argc) {
            a->used[i] = a->used[i + 1] = 1;
            return a->argv[i + 1];
        }
        if (strncmp(a->argv[i], name, n) == 0 && a->argv[i][n] == '=') {
            a->used[i] = 1;
            return a->argv[i] + n + 1;
        }
    }
    return NULL;
}

int args_flag(cli_args *a, const char *name) {
    know(a, name);
    for (int i = 0; i < a->argc; i++) {
        if (!a->used[i] && strcmp(a->argv[i], name) == 0) {
            a->used[i] = 1;
            return 1;
        }
    }
    return 0;
}

const char *args_positional(cli_args *a) {
    for (int i = 0; i < a->argc; i++) {
        if (a->used[i]) continue;
        if (a->argv[i][0] == '-' && a->argv[i][1] == '-' && a->argv[i][2]) continue;
        a->used[i] = 1;
        return a->argv[i];
    }
    return NULL;
}

/* Edit distance between a and b (insertions, deletions, substitutions), capped at 99. */
static int distance(const char *a, const char *b) {
    size_t n = strlen(b);
    if (strlen(a) > 64 || n > 64) return 99;
    int row[65];
    for (size_t j = 0; j <= n; j++) row[j] = (int)j;
    for (size_t i = 1; a[i - 1]; i++) {
        int diagonal = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= n; j++) {
            int above = row[j], best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diagonal = above;
            row[j] = best;
        }
    }
    return row[n];
}

/* The known option nearest to `arg` (its "--name" part), if near enough to be a typo. */
static const char *nearest(const cli_args *a, const char *arg) {
    char name[72];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    const char *best = NULL;
    int best_d = (int)strlen(name) / 3 + 1;
    for (int k = 0; k < a->n_known; k++) {
        int d = distance(name, a->known[k]);
        if (d < best_d || (d == best_d && best == NULL && d <= 2)) {
            best = a->known[k];
            best_d = d;
        }
    }
    return best;
}

int args_finish(cli_args *a, const char *command) {
    for (int i = 0; i < a->argc; i++) {
        if (a->used[i]) continue;
        const char *guess = a->argv[i][0] == '-' ? nearest(a, a->argv[i]) : NULL;
        fprintf(stderr, "nt5 %s: unexpected argument \"%s\"", command, a->argv[i]);
        if (guess) fprintf(stderr, "; did you mean %s?", guess);
        fprintf(stderr, " (see nt5 %s --help)\n", command);
        return 2;
    }
    return 0;
}

int parse_int(const char *text, const char *name, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < min || v > max) {
        fprintf(stderr, "nt5: %s must be an integer in [%ld, %ld], not \"%s\"\n", name, min, max, text);
        return 1;
    }
    *out = v;
    return 0;
}

int parse_float(const char *text, const char *name, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || end == text) {
        fprintf(stderr, "nt5: %s must be a number, not \"%s\"\n", name, text);
        return 1;
    }
    *out = v;
    return 0;
}

/* the names of NT5_DTYPE_F32 .. NT5_DTYPE_Q4_K, in order */
static const char *const dtype_names[] = {"f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q4_k"};
#define N_DTYPES (int32_t)(sizeof dtype_names / sizeof dtype_names[0])

int parse_dtype(const char *text, const char *name, int extra, int32_t *out) {
    for (int32_t d = 0; d < N_DTYPES; d++) {
        int offered = d == NT5_DTYPE_F32 || d == NT5_DTYPE_BF16 || (d == NT5_DTYPE_F16 && (extra & DTYPE_F16)) ||
                      (d >= NT5_DTYPE_Q8_0 && (extra & DTYPE_BLOCKS));
        if (offered && strcmp(text, dtype_names[d]) == 0) {
            *out = d;
            return 0;
        }
    }
    if (strcmp(text, "auto") == 0) {
        *out = NT5_DTYPE_AUTO;
        return 0;
    }
    fprintf(stderr, "nt5: %s must be one of auto, f32%s, bf16%s, not \"%s\"\n", name, extra & DTYPE_F16 ? ", f16" : "",
            extra & DTYPE_BLOCKS ? ", q8_0, q6_k, q5_k or q4_k" : "", text);
    return 1;
}

const char *dtype_name(int32_t dtype) { return dtype >= 0 && dtype < N_DTYPES ? dtype_names[dtype] : "?"; }

int report(const char *what, nt5_status st) { return report_message(what, st, nt5_last_error()); }

int report_message(const char *what, nt5_status st, const char *message) {
    if (st == NT5_ERR_CANCELLED && interrupted()) return 130; /* said when it came */
    fprintf(stderr, "nt5: %s: %s (%s)\n", what, message, nt5_status_name(st));
    if (st == NT5_ERR_TOO_LONG) fprintf(stderr, "nt5: raise --max-length, or leave out --no-truncation to cut texts\n");
    return 1;
}

int model_options_from_args(cli_args *a, int encoder_only, nt5_model_options *o) {
    nt5_model_options_init(o, sizeof *o);
    const char *threads = args_value(a, "--threads");
    long t = 0;
    if (threads && parse_int(threads, "--threads", 0, 4096, &t)) return 2;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0 && t > cores) fprintf(stderr, "nt5: --threads %ld is more than the %ld cores online\n", t, cores);
    o->num_threads = (int32_t)t;
    o->encoder_only = encoder_only || args_flag(a, "--encoder-only");
    o->revision = args_value(a, "--revision");
    o->cache_dir = args_value(a, "--cache-dir");
    o->offline = args_flag(a, "--offline");
    o->refuse_non_finite_weights = args_flag(a, "--refuse-non-finite");
    o->tokenizer = args_value(a, "--tokenizer");
    o->config = args_value(a, "--config");
    return 0;
}

int model_flags(cli_args *a, int encoder_only, nt5_model_options *o) {
    int rc = model_options_from_args(a, encoder_only, o);
    if (rc) return rc;
    o->device = args_value(a, "--device");
    o->allow_tf32 = args_flag(a, "--tf32");
    const char *wd = args_value(a, "--weight-dtype");
    return wd && parse_dtype(wd, "--weight-dtype", DTYPE_F16 | DTYPE_BLOCKS, &o->weight_dtype) ? 2 : 0;
}

int open_model(const char *path, nt5_model_options *o, nt5_model **out) {
    progress_bar bar;
    progress_attach(o, &bar);
    nt5_status st = nt5_model_open(path, o, out);
    progress_end(&bar);
    /* the library's message names the model when it matters: the path is not said twice */
    return st == NT5_OK ? 0 : report(strstr(nt5_last_error(), path) ? "open" : path, st);
}

int model_and_texts(cli_args *a, const char *command, const char *help, int encoder_only, nt5_model **m,
                    const char **texts, size_t *n) {
    nt5_model_options o;
    int rc = model_flags(a, encoder_only, &o);
    if (rc) return rc;
    const char *path = args_positional(a);
    *n = 0;
    for (const char *t; texts && (t = args_positional(a));) texts[(*n)++] = t;
    if (!texts) return 1;
    if (!path || *n == 0) {
        fputs(help, stderr);
        return 2;
    }
    return (rc = args_finish(a, command)) ? rc : open_model(path, &o, m);
}

void json_number(FILE *f, double v, int digits) {
    if (isfinite(v)) fprintf(f, "%.*g", digits, v);
    else fputs("null", f);
}

int finish_output(int rc) {
    errno = 0;
    int failed = ferror(stdout); /* an earlier write failed */
    if (fclose(stdout) != 0) failed = 1;
    if (!failed) return rc;
    fprintf(stderr, "nt5: cannot write the output: %s\n", errno ? strerror(errno) : "a write failed");
    return 1;
}

void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}
