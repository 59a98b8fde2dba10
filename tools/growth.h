/* The tool's small memory helpers: arrays that grow, whole files. */
#ifndef NT5_CLI_GROWTH_H
#define NT5_CLI_GROWTH_H

#include <stddef.h>

/* Grows the array *p (*cap items of `size` bytes) to hold at least n,
 * doubling from 64; 0, or -1 when out of memory (*p is then unchanged). */
int grow_array(void *p, size_t *cap, size_t n, size_t size);
/* The bytes of path, NUL-terminated (malloc'ed; their count in *len), or
 * NULL when it cannot be opened or read, or memory runs out. */
char *read_whole_file(const char *path, size_t *len);

#endif
