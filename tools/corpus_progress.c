#include "corpus_progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_SECONDS 0.1 /* on a terminal */
#define LINE_SECONDS 5.0   /* in a log */

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void corpus_progress_start(corpus_progress *p, uint64_t total, uint64_t lines_done, int quiet) {
    p->terminal = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->drawn = 0;
    p->total = total;
    p->first_line = lines_done;
    p->start = p->last = now_seconds();
}

void corpus_progress_update(corpus_progress *p, double lines_done, uint64_t tokens) {
    double t = now_seconds(), elapsed = t - p->start;
    if (p->quiet || t - p->last < (p->terminal ? REDRAW_SECONDS : LINE_SECONDS) || elapsed <= 0) return;
    p->last = t;
    double rate = (lines_done - (double)p->first_line) / elapsed;
    char eta[48] = "";
    if (p->total && rate > 0) snprintf(eta, sizeof eta, ", ETA %.0f s", ((double)p->total - lines_done) / rate);
    char done[48];
    if (p->total) snprintf(done, sizeof done, "%.0f/%llu", lines_done, (unsigned long long)p->total);
    else snprintf(done, sizeof done, "%.0f", lines_done);
    fprintf(stderr, "%sencoding: %s captions, %.1f captions/s, %.0f tokens/s%s%s", p->terminal ? "\r" : "", done, rate,
            (double)tokens / elapsed, eta, p->terminal ? "   " : "\n");
    p->drawn = p->terminal;
}

void corpus_progress_end(corpus_progress *p) {
    if (p->drawn) fputc('\n', stderr);
    p->drawn = 0;
}
