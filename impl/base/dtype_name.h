/* The names of the NT5_DTYPE_* values, as files, caches and messages write them. */
#ifndef NT5_IMPL_BASE_DTYPE_NAME_H
#define NT5_IMPL_BASE_DTYPE_NAME_H

#include <stdint.h>

/* "f32", "f16", "bf16", "q8_0", "q6_k", "q5_k" or "q4_k"; "auto" for
 * NT5_DTYPE_AUTO; NULL for any other value. Static storage. */
const char *dtype_name(int32_t dtype);

#endif
