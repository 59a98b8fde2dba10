/* Splitting an op's work over the CPU backend's pool. */
#ifndef NT5_IMPL_CPU_PARALLEL_H
#define NT5_IMPL_CPU_PARALLEL_H

#include <stddef.h>

#include "backend/backend.h"

/* Splits `total` items into pieces of at least `grain`, at most one per thread. */
size_t cpu_split_count(const exec_ctx *x, size_t total, size_t grain);
/* [begin, end) of piece `piece` of `pieces`, piece sizes a multiple of align. */
void cpu_piece_range(size_t total, size_t pieces, size_t piece, size_t align, size_t *begin, size_t *end);
/* Shrinking pieces: each round gives every thread a piece of 1 / (2 *
 * threads) of what is left, down to pieces of `least` items (sizes a
 * multiple of align), so that a thread running ahead takes over the end
 * of the work of one held up, and the last pieces, short, leave little to
 * wait for. One piece when there is one thread. */
size_t cpu_shrinking_count(size_t total, size_t threads, size_t least, size_t align);
/* [begin, end) of piece `piece` of cpu_shrinking_count(total, threads, least, align) */
void cpu_shrinking_range(size_t total, size_t threads, size_t least, size_t align, size_t piece, size_t *begin,
                         size_t *end);
/* Runs fn(ctx, row) for every row, in pieces of at least `grain` rows. */
void cpu_for_rows(exec_ctx *x, size_t rows, size_t grain, void (*fn)(const void *ctx, size_t row), const void *ctx);

#endif
