/* How many tensors a file stores in each dtype, as one line for people
 * ("F8_E4M3 168, F16 52, F32 3"), in order of first sight. */
#ifndef NT5_IMPL_DTYPE_TALLY_H
#define NT5_IMPL_DTYPE_TALLY_H

#include <stddef.h>

#define DTYPE_TALLY_KINDS 16

typedef struct dtype_tally {
    const char *names[DTYPE_TALLY_KINDS]; /* static or owned by the file */
    size_t counts[DTYPE_TALLY_KINDS];
    size_t kinds, others; /* others: tensors of kinds past the table */
} dtype_tally;

void dtype_tally_add(dtype_tally *t, const char *name);
/* The line into out[cap]. */
void dtype_tally_text(const dtype_tally *t, char *out, size_t cap);

#endif
