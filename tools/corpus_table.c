#include "corpus_table.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY (-2)

static int alloc_slots(corpus_table *t, size_t cap) {
    t->keys = malloc(cap * sizeof *t->keys);
    t->rows = malloc(cap * sizeof *t->rows);
    if (!t->keys || !t->rows) {
        free(t->keys);
        free(t->rows);
        return -1;
    }
    for (size_t i = 0; i < cap; i++) t->rows[i].shard = EMPTY;
    t->cap = cap;
    t->count = 0;
    return 0;
}

int corpus_table_init(corpus_table *t) { return alloc_slots(t, 1024); }

void corpus_table_free(corpus_table *t) {
    free(t->keys);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* The slot of key, or the empty slot where it would go (linear probing). */
static size_t slot(const corpus_table *t, const unsigned char key[32]) {
    uint64_t h;
    memcpy(&h, key, sizeof h); /* a digest's bytes are already uniform */
    size_t i = (size_t)h & (t->cap - 1);
    while (t->rows[i].shard != EMPTY && memcmp(t->keys[i], key, 32) != 0) i = (i + 1) & (t->cap - 1);
    return i;
}

corpus_row *corpus_table_find(const corpus_table *t, const unsigned char key[32]) {
    size_t i = slot(t, key);
    return t->rows[i].shard == EMPTY ? NULL : &t->rows[i];
}

int corpus_table_add(corpus_table *t, const unsigned char key[32], corpus_row row) {
    if (2 * (t->count + 1) > t->cap) { /* at most half full */
        corpus_table old = *t;
        if (alloc_slots(t, old.cap * 2)) {
            *t = old;
            return -1;
        }
        for (size_t i = 0; i < old.cap; i++)
            if (old.rows[i].shard != EMPTY) corpus_table_add(t, old.keys[i], old.rows[i]);
        corpus_table_free(&old);
    }
    size_t i = slot(t, key);
    memcpy(t->keys[i], key, 32);
    t->rows[i] = row;
    t->count++;
    return 0;
}

void sha256_text(const char *text, unsigned char digest[32], char hex[65]) {
    unsigned int n = 32;
    EVP_Digest(text, strlen(text), digest, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

int sha256_parse(const char *hex, unsigned char digest[32]) {
    if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        digest[i] = (unsigned char)v;
    }
    return 0;
}
