/* Writing a model as an nt5 file (format/nt5_format.h): matrices in a
 * chosen dtype, f16 with per-matrix power-of-two scales from calibrated
 * input maxima. */
#ifndef NT5_IMPL_NT5_FILE_WRITE_H
#define NT5_IMPL_NT5_FILE_WRITE_H

#include "model/model.h"

typedef struct nt5file_layout {
    int32_t dtype;                  /* matrices: NT5_DTYPE_F32, BF16, F16, or AUTO: as loaded (a model in blocks: AUTO
                                       or its block dtype, every tensor as loaded) */
    const float *input_absmax;      /* F16: [n_tensors] calibrated input maxima per matrix (< 0: none), or NULL */
    float headroom;                 /* F16: 0 = NT5_FILE_DEFAULT_HEADROOM */
    nt5_progress_callback progress; /* optional: "writing <path>", bytes done and in all; nonzero cancels */
    void *user_data;
} nt5file_layout;

/* Writes the model to `path` through a temporary file and a rename. */
nt5_status nt5file_write(const nt5_model *m, const char *path, const nt5file_layout *layout);
/* nt5file_write with the weights as loaded. */
nt5_status nt5file_save(const nt5_model *m, const char *path);

#endif
