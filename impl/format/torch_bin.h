/* PyTorch checkpoints (pytorch_model*.bin, the zip format of torch.save)
 * read into the same tensor table as a safetensors file: minizip finds the
 * records, the restricted unpickler reads data.pkl, tensors point into the
 * mapped file. The legacy (pre-1.6) format is refused. */
#ifndef NT5_HUB_TORCH_BIN_H
#define NT5_HUB_TORCH_BIN_H

#include "format/safetensors.h"

nt5_status torch_bin_open(const char *path, st_file **out);

#endif
