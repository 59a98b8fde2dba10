/* The CLI's progress line on a terminal: per downloaded or written file its
 * bytes, rate and time left; calibration's prompts. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define REDRAW_SECONDS 0.1 /* at most ten redraws a second */
#define RATE_WINDOW 2.0    /* seconds over which the rate is smoothed */

static int32_t on_progress(const char *what, uint64_t done, uint64_t total, void *user_data) {
    progress_bar *p = user_data;
    if (interrupted()) return 1;           /* the library cancels and removes what it was writing */
    if (strncmp(what, "note: ", 6) == 0) { /* said once, on its own line */
        if (p->what[0]) fputc('\n', stderr);
        p->what[0] = '\0';
        fprintf(stderr, "nt5: %s\n", what + 6);
        return 0;
    }
    if (!p->draw) return 0;
    double t = now_s();
    if (strcmp(p->what, what) != 0) {
        if (p->what[0]) fputc('\n', stderr);
        snprintf(p->what, sizeof p->what, "%s", what);
        p->start = p->last_draw = t;
        p->last_done = done;
        p->rate = 0;
    } else if (t - p->last_draw < REDRAW_SECONDS && done != total) {
        return 0;
    }
    /* an exponential average of the rate between redraws: no wild first figures */
    double dt = t - p->last_draw, instant = dt > 0 ? (double)(done - p->last_done) / dt : 0;
    double weight = dt / RATE_WINDOW < 1 ? dt / RATE_WINDOW : 1;
    if (dt > 0) p->rate = p->rate > 0 ? p->rate + weight * (instant - p->rate) : instant;
    p->last_draw = t;
    p->last_done = done;
    double rate = p->rate, left = rate > 0 && total >= done ? (total - done) / rate : 0;
    if (strcmp(what, "calibrating") == 0)
        fprintf(stderr, "\rcalibrating: %llu/%llu prompts ETA %.0fs   ", (unsigned long long)done,
                (unsigned long long)total, left);
    else if (total)
        fprintf(stderr, "\r%s: %5.1f%% %.1f/%.1f MB %.1f MB/s ETA %.0fs   ", what, 100.0 * done / total, done / 1e6,
                total / 1e6, rate / 1e6, left);
    else fprintf(stderr, "\r%s: %.1f MB %.1f MB/s   ", what, done / 1e6, rate / 1e6);
    return 0;
}

void progress_attach(nt5_model_options *o, progress_bar *p) {
    memset(p, 0, sizeof *p);
    const char *quiet = getenv("HF_HUB_DISABLE_PROGRESS_BARS");
    p->draw = isatty(STDERR_FILENO) && !(quiet && *quiet && strcmp(quiet, "0") != 0);
    o->on_progress = on_progress;
    o->progress_user_data = p;
}

void progress_end(progress_bar *p) {
    if (p->what[0]) fputc('\n', stderr);
    p->what[0] = '\0';
}
