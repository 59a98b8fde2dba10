#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: nt5 download MODEL_ID [--revision REV] [--cache-dir DIR] [--offline]\n"
    "Puts the files nt5 needs of a Hugging Face model (config, tokenizer, weights) into the\n"
    "huggingface_hub cache, shared with the Python tools, and prints the snapshot directory.\n"
    "Honours HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN and HF_HUB_OFFLINE. A progress bar is\n"
    "drawn on a terminal unless HF_HUB_DISABLE_PROGRESS_BARS is set.\n";

typedef struct progress_state {
    char file[256];
    double start;
} progress_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One line per file: name, bytes, rate and the time left. */
static int32_t on_progress(const char *file, uint64_t done, uint64_t total, void *user_data) {
    progress_state *p = user_data;
    if (strcmp(p->file, file) != 0) {
        if (p->file[0]) fputc('\n', stderr);
        snprintf(p->file, sizeof p->file, "%s", file);
        p->start = now_s();
    }
    double elapsed = now_s() - p->start, rate = elapsed > 0 ? done / elapsed : 0;
    if (total)
        fprintf(stderr, "\r%s: %5.1f%% %.1f/%.1f MB %.1f MB/s ETA %.0fs   ", file, 100.0 * done / total, done / 1e6,
                total / 1e6, rate / 1e6, rate > 0 ? (total - done) / rate : 0);
    else
        fprintf(stderr, "\r%s: %.1f MB %.1f MB/s   ", file, done / 1e6, rate / 1e6);
    return 0;
}

int cmd_download(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.revision = args_value(&a, "--revision");
    o.cache_dir = args_value(&a, "--cache-dir");
    o.offline = args_flag(&a, "--offline");
    const char *id = args_positional(&a);
    if (!id) {
        fputs(help, stderr);
        rc = 2;
        goto done;
    }
    if ((rc = args_finish(&a, "download"))) goto done;
    progress_state progress = {0};
    const char *quiet = getenv("HF_HUB_DISABLE_PROGRESS_BARS");
    if (isatty(STDERR_FILENO) && !(quiet && *quiet && strcmp(quiet, "0") != 0)) {
        o.on_progress = on_progress;
        o.progress_user_data = &progress;
    }
    char dir[4096];
    size_t len;
    nt5_status st = nt5_hub_download(id, &o, dir, sizeof dir, &len);
    if (progress.file[0]) fputc('\n', stderr);
    if (st != NT5_OK) rc = report(id, st);
    else printf("%s\n", dir);
done:
    args_free(&a);
    return rc;
}
