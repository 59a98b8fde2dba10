/* Getting a model's files from the Hub into the huggingface_hub cache (or
 * finding them there offline): config, tokenizer and the weights in the
 * Hub's order of preference. */
#ifndef NT5_HUB_DOWNLOAD_H
#define NT5_HUB_DOWNLOAD_H

#include <stddef.h>

#include "hub/hub_env.h"
#include "hub/hub_request.h"

/* What a fetch left in the cache. */
typedef struct hub_fetched {
    char path[4096];      /* to open: the snapshot (<cache>/models--x--y/snapshots/<commit>), a component
                           * folder in it, a file of it, or an encoder part (hub_partial.h) */
    char file[256];       /* the repo path of that file when a file was asked for (by name or :QUANT), else "" */
    char tokenizer[4096]; /* the pipeline's tokenizer folder for a component without its own, else "" */
    char commit[41];
} hub_fetched;

/* Fetches what req names (the root model, a component folder with its
 * pipeline's tokenizer, one file, or the GGUF file of a quantization) into
 * the cache, or finds it there offline. */
nt5_status hub_fetch_model(const hub_env *env, const hub_request *req, hub_fetched *out);

#endif
