/* Going on with an interrupted corpus run from its last complete shard. */
#ifndef NT5_CLI_CORPUS_RESUME_H
#define NT5_CLI_CORPUS_RESUME_H

#include <stdint.h>

#include "corpus_input.h"
#include "corpus_output.h"
#include "corpus_table.h"

typedef struct corpus_counts {
    uint64_t lines;      /* input lines done */
    uint64_t encoded;    /* distinct captions encoded (rows in the shards) */
    uint64_t duplicates; /* lines whose caption was encoded before */
    uint64_t skipped;    /* lines without a caption, or that failed (--on-error skip) */
    uint64_t tokens;     /* real tokens encoded */
} corpus_counts;

/* Reads the index lines before the last complete shard's end_line together
 * with the same input lines, checking that each caption is the one indexed
 * (the same input), refills the table and the counts from them, and cuts the
 * index after them. 0, or 1 with the reason printed. */
int corpus_resume(corpus_output *o, corpus_input *in, corpus_table *t, corpus_counts *c);

#endif
