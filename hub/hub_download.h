/* Getting a model's files from the Hub into the huggingface_hub cache (or
 * finding them there offline): config, tokenizer and the weights in the
 * Hub's order of preference. */
#ifndef NT5_HUB_DOWNLOAD_H
#define NT5_HUB_DOWNLOAD_H

#include <stddef.h>

#include "hub/hub_env.h"
#include "hub/hub_request.h"

/* Writes the snapshot directory (<cache>/models--x--y/snapshots/<commit>,
 * or an encoder part, hub_partial.h) holding the model's files, and the
 * commit it resolved to. */
nt5_status hub_fetch_model(const hub_env *env, const hub_request *req, char *snapshot_dir, size_t capacity,
                           char commit[41]);

#endif
