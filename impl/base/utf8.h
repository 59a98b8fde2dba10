/* UTF-8 validation of caller text. */
#ifndef NT5_IMPL_UTF8_H
#define NT5_IMPL_UTF8_H

#include <stddef.h>

/* Returns the byte offset of the first invalid sequence, or `len` if the
 * text is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
size_t utf8_first_invalid(const char *text, size_t len);

#endif
