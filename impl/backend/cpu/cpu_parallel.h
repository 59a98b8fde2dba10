/* Splitting an op's work over the CPU backend's pool. */
#ifndef NT5_IMPL_CPU_PARALLEL_H
#define NT5_IMPL_CPU_PARALLEL_H

#include <stddef.h>

#include "backend/backend.h"

/* Splits `total` items into pieces of at least `grain`, at most one per thread. */
size_t cpu_split_count(const exec_ctx *x, size_t total, size_t grain);
/* [begin, end) of piece `piece` of `pieces`, piece sizes a multiple of align. */
void cpu_piece_range(size_t total, size_t pieces, size_t piece, size_t align, size_t *begin, size_t *end);
/* Runs fn(ctx, row) for every row, in pieces of at least `grain` rows. */
void cpu_for_rows(exec_ctx *x, size_t rows, size_t grain, void (*fn)(const void *ctx, size_t row), const void *ctx);

#endif
