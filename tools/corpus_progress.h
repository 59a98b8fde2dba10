/* The progress of a corpus run: on a terminal a line redrawn at most ten
 * times a second, otherwise a line every few seconds; captions/s, tokens/s
 * and, when the input's length is known, the time left. */
#ifndef NT5_CLI_CORPUS_PROGRESS_H
#define NT5_CLI_CORPUS_PROGRESS_H

#include <stdint.h>

typedef struct corpus_progress {
    int terminal, quiet, drawn;
    uint64_t total;      /* input lines, 0 if unknown */
    uint64_t first_line; /* lines done when this run started (resumed) */
    double start, last;  /* seconds */
} corpus_progress;

double now_seconds(void);
void corpus_progress_start(corpus_progress *p, uint64_t total, uint64_t lines_done, int quiet);
/* Lines done so far and real tokens encoded by this run. */
void corpus_progress_update(corpus_progress *p, double lines_done, uint64_t tokens);
void corpus_progress_end(corpus_progress *p);

#endif
