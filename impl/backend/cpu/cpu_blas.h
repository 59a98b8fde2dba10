/* OpenBLAS's work buffers, kept out of the failure path.
 *
 * OpenBLAS gives each thread inside a product a work buffer (128 MiB of
 * address space), mapped the first time that many threads are inside at once
 * and kept for reuse; a mapping that fails is retried forever, so under
 * `ulimit -v` or strict overcommit a product hangs instead of failing. The CPU
 * backend therefore maps the buffers it will need when it is created, where
 * running out is an NT5_ERR_OUT_OF_MEMORY, and lets no more threads into
 * BLAS at once than there are buffers. */
#ifndef NT5_IMPL_CPU_BLAS_H
#define NT5_IMPL_CPU_BLAS_H

#include "nt5.h"

/* Makes room for `threads` more threads inside BLAS at once (a backend's pool);
 * an error, and nothing changed, when the buffers cannot be mapped. */
nt5_status cpu_blas_open(int threads);
/* Gives back what cpu_blas_open(threads) made room for (buffers stay mapped). */
void cpu_blas_close(int threads);

/* Around every BLAS call: waits while all the buffers are in use. */
void cpu_blas_enter(void);
void cpu_blas_leave(void);

#endif
