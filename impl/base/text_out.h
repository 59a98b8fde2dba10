/* Strings returned into caller buffers, the ABI's way: NUL-terminated in
 * at most capacity bytes, the length without the NUL in *length, and
 * NT5_ERR_BUFFER_TOO_SMALL (with *length set) when it does not fit. */
#ifndef NT5_IMPL_TEXT_OUT_H
#define NT5_IMPL_TEXT_OUT_H

#include <stddef.h>

#include "nt5.h"

nt5_status text_out(const char *text, char *out, size_t capacity, size_t *length);

#endif
