/* Hub repository ids and file names: validation as huggingface_hub does
 * it, and the cache folder name. */
#ifndef NT5_HUB_REPO_H
#define NT5_HUB_REPO_H

#include <stddef.h>

#include "nt5.h"

/* "name" or "org/name" of [A-Za-z0-9_.-], at most 96 characters per part,
 * no "--" or "..", not ending in ".git". */
int hub_repo_id_valid(const char *repo_id);
/* "models--org--name" into out. */
nt5_status hub_repo_folder(const char *repo_id, char *out, size_t capacity);
/* A repo-relative file name that stays inside the snapshot: no absolute
 * path, no ".." segment, no backslash, no empty segment. */
int hub_filename_safe(const char *name);
/* A 40-hex lowercase commit id. */
int hub_is_commit(const char *revision);

#endif
