/* The captions already encoded, by the SHA-256 of their text: where each
 * one's row is, so that a repeated caption is encoded once and indexed
 * again. */
#ifndef NT5_CLI_CORPUS_TABLE_H
#define NT5_CLI_CORPUS_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct corpus_row {
    int64_t shard; /* -1 while the caption waits in the window being encoded */
    int64_t row;   /* row in the shard, or its place in the waiting window */
    int64_t length;
} corpus_row;

typedef struct corpus_table {
    unsigned char (*keys)[32];
    corpus_row *rows;
    size_t cap, count; /* cap: a power of two; an empty slot has shard -2 */
} corpus_table;

/* 0, or -1 without memory. */
int corpus_table_init(corpus_table *t);
void corpus_table_free(corpus_table *t);
/* The row of the caption with this digest, or NULL. */
corpus_row *corpus_table_find(const corpus_table *t, const unsigned char key[32]);
/* Adds a digest not yet in the table; 0, or -1 without memory. */
int corpus_table_add(corpus_table *t, const unsigned char key[32], corpus_row row);

/* SHA-256 of text and its lowercase hex (65 bytes with the NUL). */
void sha256_text(const char *text, unsigned char digest[32], char hex[65]);
/* Parses 64 hex digits; 0, or -1 if hex is not that. */
int sha256_parse(const char *hex, unsigned char digest[32]);

#endif
