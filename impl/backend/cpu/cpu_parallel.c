#include "backend/cpu/cpu_parallel.h"

#include <stdint.h>

#include "backend/cpu/cpu_internal.h"

size_t cpu_split_count(const exec_ctx *x, size_t total, size_t grain) {
    size_t threads = cpu_threads(x);
    size_t pieces = total / grain;
    if (pieces > threads) pieces = threads;
    return pieces ? pieces : 1;
}

void cpu_piece_range(size_t total, size_t pieces, size_t piece, size_t align, size_t *begin, size_t *end) {
    size_t per = (total + pieces - 1) / pieces;
    per = (per + align - 1) / align * align;
    *begin = piece * per < total ? piece * per : total;
    *end = *begin + per < total ? *begin + per : total;
}

/* Walks the shrinking pieces of `total` up to piece `stop` (or all of
 * them): the pieces walked, and *begin, *end those of the last. */
static size_t walk_shrinking(size_t total, size_t threads, size_t least, size_t align, size_t stop, size_t *begin,
                             size_t *end) {
    size_t at = 0, piece = 0;
    *begin = *end = 0;
    if (threads < 2) {
        *end = total;
        return 1;
    }
    least = (least + align - 1) / align * align;
    while (at < total) {
        size_t size = ((total - at) / (2 * threads) + align - 1) / align * align;
        if (size < least) size = least;
        for (size_t t = 0; t < threads && at < total; t++, piece++) {
            *begin = at;
            *end = at = total - at < size ? total : at + size;
            if (piece == stop) return piece + 1;
        }
    }
    return piece;
}

size_t cpu_shrinking_count(size_t total, size_t threads, size_t least, size_t align) {
    size_t b, e;
    return walk_shrinking(total, threads, least, align, SIZE_MAX, &b, &e);
}

void cpu_shrinking_range(size_t total, size_t threads, size_t least, size_t align, size_t piece, size_t *begin,
                         size_t *end) {
    walk_shrinking(total, threads, least, align, piece, begin, end);
}

typedef struct rows_job {
    void (*fn)(const void *ctx, size_t row);
    const void *ctx;
    size_t rows, pieces;
} rows_job;

static void rows_task(void *job, size_t piece, size_t slot) {
    (void)slot;
    const rows_job *j = job;
    size_t b, e;
    cpu_piece_range(j->rows, j->pieces, piece, 1, &b, &e);
    for (size_t r = b; r < e; r++) j->fn(j->ctx, r);
}

void cpu_for_rows(exec_ctx *x, size_t rows, size_t grain, void (*fn)(const void *ctx, size_t row), const void *ctx) {
    rows_job j = {fn, ctx, rows, cpu_split_count(x, rows, grain)};
    cpu_run(x, j.pieces, rows_task, &j);
}
