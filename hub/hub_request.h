/* What to fetch of a Hub model (hub_download.h, hub_partial.h). */
#ifndef NT5_HUB_REQUEST_H
#define NT5_HUB_REQUEST_H

#include "hub/hub_http.h"

typedef struct hub_request {
    const char *repo_id;
    const char *revision; /* NULL: "main" */
    const char *path;     /* "" (the root), a component folder or a file of the repo */
    int file;             /* path names a file */
    const char *quant;    /* "" or the quantization tag of the GGUF file wanted */
    int tokenizer_only;   /* only the tokenizer files of path: spiece.model, tokenizer_config.json */
    int encoder_only;     /* skip shards that hold only decoder tensors */
    http_progress progress;
    void *user_data;
} hub_request;

#endif
