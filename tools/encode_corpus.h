/* nt5 encode --input: a whole caption corpus into shards, resumable. */
#ifndef NT5_CLI_ENCODE_CORPUS_H
#define NT5_CLI_ENCODE_CORPUS_H

#include "cli.h"

/* Runs `nt5 encode MODEL --input FILE --output DIR` with the encode options
 * (and the preset's name, or NULL) already read from a; returns the exit
 * code. */
int encode_corpus(cli_args *a, const char *help, const char *input, const nt5_encode_options *o, const char *preset);

#endif
