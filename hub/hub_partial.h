/* Encoder-only downloads of a single model.safetensors: its header, then
 * only the byte ranges of the tensors an encoder needs, written as a smaller
 * safetensors file of nt5's own in nt5's cache beside the huggingface_hub
 * cache (<nt5 cache>/<repo folder>/<commit>/encoder/, hub/hub_cache.h),
 * never into its blobs, where it would pass for the whole file. */
#ifndef NT5_HUB_PARTIAL_H
#define NT5_HUB_PARTIAL_H

#include <stddef.h>

#include "hub/hub_cache.h"
#include "hub/hub_http.h"
#include "hub/hub_request.h"

/* The directory of the encoder part of <commit> (it may not exist yet). */
void hub_partial_dir(const hub_repo_cache *rc, const char *commit, char *dir, size_t cap);
/* Whether that directory holds a complete encoder part. */
int hub_partial_ready(const hub_repo_cache *rc, const char *commit);
/* Fetches the encoder part; the snapshot must already hold config.json
 * (and the tokenizer files, if any), which are copied beside it. */
nt5_status hub_partial_fetch(const hub_env *env, const hub_repo_cache *rc, const hub_request *req, const char *commit,
                             const char *url, const http_meta *meta);

#endif
