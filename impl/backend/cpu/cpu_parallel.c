#include "backend/cpu/cpu_parallel.h"

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
