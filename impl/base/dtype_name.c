#include "base/dtype_name.h"

#include "nt5.h"

const char *dtype_name(int32_t dtype) {
    /* indexed by NT5_DTYPE_F32 (0) .. NT5_DTYPE_Q4_K */
    static const char *const names[] = {"f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q4_k"};
    if (dtype == NT5_DTYPE_AUTO) return "auto";
    return dtype >= 0 && dtype < (int32_t)(sizeof names / sizeof names[0]) ? names[dtype] : NULL;
}
