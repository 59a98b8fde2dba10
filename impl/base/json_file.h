/* Reading small JSON files (config.json, index files) with clear errors. */
#ifndef NT5_IMPL_JSON_FILE_H
#define NT5_IMPL_JSON_FILE_H

#include <cjson/cJSON.h>

#include "nt5.h"

/* Reads and parses `path`. Missing file: NT5_ERR_NOT_FOUND; unreadable:
 * NT5_ERR_IO; not JSON or not an object: NT5_ERR_FORMAT. */
nt5_status json_read_file(const char *path, cJSON **out);
/* Parses a JSON object from memory; a key that appears twice at its top
 * level is refused (which one counts is not for nt5 to guess). */
nt5_status json_parse_object(const char *text, size_t len, const char *what, cJSON **out);
/* A key that appears more than once among object's members, or NULL
 * (sorting: n log n for a hostile object of many keys). */
const char *json_duplicate_key(const cJSON *object);
/* Reads a whole small file (config, tokenizer; at most 64 MiB) into a
 * NUL-terminated malloc'ed buffer. */
nt5_status file_read_all(const char *path, char **data, size_t *size);

#endif
