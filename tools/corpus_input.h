/* The captions of a corpus, line by line: plain text (one caption per line)
 * or JSON lines (the caption in a named string field), from a file or
 * standard input. */
#ifndef NT5_CLI_CORPUS_INPUT_H
#define NT5_CLI_CORPUS_INPUT_H

#include <stdint.h>
#include <stdio.h>

typedef struct corpus_input {
    FILE *f;
    const char *name;  /* for messages: the path, or "standard input" */
    const char *field; /* JSON lines: the caption's field; NULL: plain text */
    char *line, *text; /* the current line; its caption (the line itself, or the field's copy) */
    size_t cap;
    uint64_t line_no; /* 1-based number of the current line */
} corpus_input;

/* Opens path ("-": standard input). 0, or 1 with the reason printed. */
int corpus_input_open(corpus_input *in, const char *path, const char *field);
/* Lines in a regular file (0 for standard input or a pipe: unknown). */
uint64_t corpus_input_count(const char *path);
/* Reads the next line: 1 with *text set (valid until the next call), or with
 * *text NULL and *error saying why the line holds no caption (no NUL bytes
 * in text lines; JSON with a string field); 0 at the end; -1 when reading
 * failed (printed). */
int corpus_input_next(corpus_input *in, const char **text, const char **error);
void corpus_input_close(corpus_input *in);

#endif
