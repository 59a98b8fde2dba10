/* The row block of this machine's sgemm, for batch invariance.
 *
 * OpenBLAS's sgemm computes the rows of C in blocks (12 on AVX2 machines)
 * and sums a row in an order that depends on its place in the block, and,
 * for the last M mod 12 rows, on M: a caption encoded in a batch would
 * differ in the last bits from the same caption encoded alone. A product
 * whose row count is a multiple of the block, and in which an input's rows
 * start at a multiple of it, gives each row the bits it has alone. The
 * block is found once by probing sgemm. */
#ifndef NT5_IMPL_CPU_ROW_BLOCK_H
#define NT5_IMPL_CPU_ROW_BLOCK_H

#include <stddef.h>

/* The block (1 when rows never depend on their place), or 0 when the
 * probe found none up to 96 rows. */
size_t cpu_row_block(void);

#endif
