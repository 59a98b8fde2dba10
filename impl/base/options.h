/* Versioned option structs: every public options struct starts with
 * uint32_t struct_size and the library reads only that many bytes. */
#ifndef NT5_IMPL_OPTIONS_H
#define NT5_IMPL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

/* Checks a caller's struct_size against what this library knows
 * (`known`) and against the smallest layout ever released (`minimum`). */
nt5_status opts_check_size(uint32_t struct_size, size_t minimum, size_t known, const char *type_name);
/* Overlays a caller's struct (NULL = keep the defaults already in `dst`) onto
 * `dst`: the first struct_size bytes are copied, the rest keep defaults. */
nt5_status opts_overlay(void *dst, size_t known, const void *src, size_t minimum, const char *type_name);
/* Fills a caller's struct of struct_size bytes from a full defaults struct. */
nt5_status opts_init(void *dst, uint32_t struct_size, const void *defaults, size_t minimum, size_t known,
                     const char *type_name);

#endif
