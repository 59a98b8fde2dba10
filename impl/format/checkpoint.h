/* The weight files of a Hugging Face checkpoint directory: one
 * model.safetensors or shards listed in model.safetensors.index.json. */
#ifndef NT5_IMPL_CHECKPOINT_H
#define NT5_IMPL_CHECKPOINT_H

#include "format/safetensors.h"

typedef struct checkpoint {
    st_file **files;
    size_t count;
} checkpoint;

/* encoder_only: shards that hold only decoder tensors are not opened (and
 * may be absent). */
nt5_status ckpt_open_dir(const char *dir, int encoder_only, checkpoint *ck);
const st_tensor *ckpt_find(const checkpoint *ck, const char *name);
void ckpt_close(checkpoint *ck);

#endif
