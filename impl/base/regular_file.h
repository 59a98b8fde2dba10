/* Opening a file nt5 reads (config.json, weights, spiece.model, a token):
 * it must be a regular file, checked before anything blocks on it (a FIFO
 * or a device would hang a read) or reads a directory as a file. */
#ifndef NT5_IMPL_REGULAR_FILE_H
#define NT5_IMPL_REGULAR_FILE_H

#include <stdint.h>

#include "nt5.h"

/* *fd (blocking, close-on-exec) and *size of the regular file at path.
 * NT5_ERR_NOT_FOUND when nothing is there, NT5_ERR_IO when it cannot be
 * opened (with the reason: a symbolic link loop, no permission) or is not a
 * regular file (naming what it is). */
nt5_status regular_file_open(const char *path, int *fd, uint64_t *size);
/* The regular file at path mapped read-only: *map (NULL for an empty file)
 * and *size, to munmap when done. Errors as regular_file_open's, and
 * NT5_ERR_IO when it cannot be mapped. */
nt5_status regular_file_map(const char *path, const uint8_t **map, size_t *size);

#endif
