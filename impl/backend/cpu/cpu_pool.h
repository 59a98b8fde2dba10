/* A pool of worker threads shared by all calls on one CPU model. The caller
 * of pool_run() works on its own job too, so concurrent callers never wait
 * for each other's tasks. */
#ifndef NT5_IMPL_CPU_POOL_H
#define NT5_IMPL_CPU_POOL_H

#include <stddef.h>

#include "nt5.h"

typedef struct cpu_pool cpu_pool;

/* Runs fn(ctx, task, slot) for task in [0, ntasks) on at most
 * pool_threads_for(limit) threads, the caller's among them. slot is in
 * [0, pool_threads_for(limit)) and unique among the threads working on this
 * call at the same time, so it can index per-thread scratch. */
typedef void (*pool_fn)(void *ctx, size_t task, size_t slot);

nt5_status pool_create(int threads, cpu_pool **out);
void pool_destroy(cpu_pool *pool);
int pool_threads(const cpu_pool *pool);
/* The threads a call limited to `limit` (0: none) works on: limit, at most the pool's. */
int pool_threads_for(const cpu_pool *pool, int limit);
void pool_run(cpu_pool *pool, int limit, size_t ntasks, pool_fn fn, void *ctx);

#endif
