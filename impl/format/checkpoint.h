/* The weight files of a Hugging Face checkpoint: a directory's
 * model.safetensors or shards listed in model.safetensors.index.json, or
 * one file with Hugging Face tensor names (a ComfyUI or Forge single file),
 * perhaps under a prefix among unrelated tensors (an all-in-one file). */
#ifndef NT5_IMPL_CHECKPOINT_H
#define NT5_IMPL_CHECKPOINT_H

#include "format/safetensors.h"

#define CKPT_PREFIX_MAX 128

typedef struct checkpoint {
    st_file **files;
    size_t count;
    char prefix[CKPT_PREFIX_MAX]; /* before every Hugging Face name ("text_encoders.t5xxl.transformer."), or "" */
} checkpoint;

/* encoder_only: shards that hold only decoder tensors are not opened (and
 * may be absent). */
nt5_status ckpt_open_dir(const char *dir, int encoder_only, checkpoint *ck);
/* One safetensors file (ck takes f, and closes it on error too); the prefix
 * of its T5 tensors is the one before "encoder.final_layer_norm.weight". */
nt5_status ckpt_adopt_file(st_file *f, checkpoint *ck);
/* The tensor `name` (a Hugging Face name, without the prefix), or NULL. */
const st_tensor *ckpt_find(const checkpoint *ck, const char *name);
void ckpt_close(checkpoint *ck);

#endif
