/* The row classes of this machine's sgemm, for batch invariance
 * (backend.h row_classes).
 *
 * OpenBLAS's sgemm computes the rows of C in blocks (12 on AVX2 machines)
 * and sums a row in an order that depends on its place in the block (on
 * AVX2: places 0-5 one order, 6-11 another), and, for the last M mod 12
 * rows, on M: a caption encoded in a batch would differ in the last bits
 * from the same caption encoded alone unless each of its rows sits at a
 * place of the same class in both. The block and its classes are found
 * once by probing sgemm. */
#ifndef NT5_IMPL_CPU_ROW_CLASSES_H
#define NT5_IMPL_CPU_ROW_CLASSES_H

#include "backend/backend.h"

/* The classes (a block of 1 when rows never depend on their place), or
 * NULL when the probe found no block up to 96 rows. */
const row_classes *cpu_row_classes(void);

#endif
