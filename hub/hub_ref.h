/* Model references to the Hub, as people write them:
 *   org/name                      a transformers model (its root)
 *   org/name/sub/folder           a component of a repo (diffusers: text_encoder_2)
 *   org/name/path/to/file.safetensors|.gguf   one file of a repo
 *   org/name:QUANT                the GGUF file of that quantization (llama.cpp's -hf)
 * each optionally followed by @revision (a branch, tag or commit). */
#ifndef NT5_HUB_REF_H
#define NT5_HUB_REF_H

#include "nt5.h"

typedef struct hub_ref {
    char repo_id[256];  /* "org/name" (or a legacy "name") */
    char path[1024];    /* "", a folder or a file of the repo */
    char quant[32];     /* "" or a GGUF quantization tag such as "Q8_0" */
    char revision[256]; /* "" or what followed '@' */
} hub_ref;

/* Parses `text`; NT5_ERR_INVALID_ARG naming the part that is wrong. */
nt5_status hub_ref_parse(const char *text, hub_ref *ref);
/* Whether a model path should be taken to the Hub: nothing by that name
 * exists locally, nor the directory that would hold it, and it parses as a
 * reference. */
int hub_looks_like_ref(const char *text);
/* Whether a reference's path names a file (.safetensors, .gguf) rather than a folder. */
int hub_ref_is_file(const hub_ref *ref);

#endif
