/* Writes an opened model in Hugging Face layout: model.safetensors under
 * the state-dict names (fused tensors split back), config.json, the
 * tokenizer files and a short model card, so that repos shipping only
 * PyTorch .bin weights can be turned into safetensors. */
#ifndef NT5_IMPL_HF_LAYOUT_WRITE_H
#define NT5_IMPL_HF_LAYOUT_WRITE_H

#include "model/model.h"

/* Creates `dir` (which must not exist) through a temporary directory and a
 * rename; progress (may be NULL) hears "writing <dir>" with tensors done and
 * in all, and a nonzero return cancels (NT5_ERR_CANCELLED, nothing left). */
nt5_status hf_layout_save(const nt5_model *m, const char *dir, nt5_progress_callback progress, void *user_data);

#endif
