#include "growth.h"

#include <stdio.h>
#include <stdlib.h>

int grow_array(void *p, size_t *cap, size_t n, size_t size) {
    if (n <= *cap) return 0;
    size_t want = *cap ? *cap : 64;
    while (want < n) want *= 2;
    void *grown = realloc(*(void **)p, want * size);
    if (!grown) return -1;
    *(void **)p = grown;
    *cap = want;
    return 0;
}

char *read_whole_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t cap = 0, n = 0;
    for (size_t got = 1; got > 0; n += got) {
        if (grow_array(&text, &cap, n + 4097, 1)) {
            free(text);
            text = NULL;
            break;
        }
        got = fread(text + n, 1, 4096, f);
    }
    if (text && ferror(f)) {
        free(text);
        text = NULL;
    }
    fclose(f);
    if (text) text[n] = '\0';
    if (len) *len = text ? n : 0;
    return text;
}
