/* OpenBLAS's work buffers mapped up front (cpu_blas.h). */
#include "backend/cpu/cpu_blas.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

#include "base/error.h"

/* Exported by every OpenBLAS build (its common.h) but not declared in cblas.h:
 * the buffer allocator its products call, which maps a new buffer only when
 * every mapped one is taken. */
void *blas_memory_alloc(int procpos);
void blas_memory_free(void *buffer);

/* A buffer's size in the OpenBLAS builds Debian ships (BUFFER_SIZE, 32 << 22)
 * plus its page of alignment. */
#define BUFFER_BYTES (((size_t)32 << 22) + 4096)
/* OpenBLAS holds at most 2 x MAX_THREADS buffers (128 in Debian's build, 64 of
 * them for its own threads); nt5 keeps to the other half. */
#define MAX_BUFFERS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int open_threads;    /* the open backends' pools together (under lock) */
static int mapped;          /* buffers OpenBLAS has mapped for nt5 (under lock) */
static _Atomic int allowed; /* threads let inside at once: open_threads, at most mapped */
static _Atomic int inside;

/* Maps enough buffers that `want` threads can be inside at once: the room is
 * tried with a mapping of ours first, then OpenBLAS is made to map them by
 * taking `want` buffers together. */
static nt5_status map_buffers(int want) {
    size_t more = (size_t)(want - mapped) * BUFFER_BYTES;
    void *room = mmap(NULL, more, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (room == MAP_FAILED)
        return err_set(NT5_ERR_OUT_OF_MEMORY,
                       "out of memory: BLAS needs %zu MiB of address space for each thread (%d here), and the memory "
                       "limit (ulimit -v, or the overcommit limit) leaves less; use fewer threads "
                       "(nt5_model_options.num_threads) or raise the limit",
                       BUFFER_BYTES >> 20, want);
    munmap(room, more);
    void *held[MAX_BUFFERS];
    int got = 0;
    for (int i = 0; i < want; i++)
        if ((held[got] = blas_memory_alloc(0)) != NULL) got++;
    for (int i = 0; i < got; i++) blas_memory_free(held[i]);
    mapped = got;
    return NT5_OK;
}

static void set_allowed(void) {
    int n = open_threads < mapped ? open_threads : mapped;
    atomic_store(&allowed, n < 1 && open_threads > 0 ? 1 : n); /* never none while a backend is open */
}

nt5_status cpu_blas_open(int threads) {
    pthread_mutex_lock(&lock);
    int want = open_threads + threads;
    if (want > MAX_BUFFERS) want = MAX_BUFFERS;
    nt5_status st = want > mapped ? map_buffers(want) : NT5_OK;
    if (st == NT5_OK) {
        open_threads += threads;
        set_allowed();
    }
    pthread_mutex_unlock(&lock);
    return st;
}

void cpu_blas_close(int threads) {
    pthread_mutex_lock(&lock);
    open_threads -= threads;
    set_allowed();
    pthread_mutex_unlock(&lock);
}

void cpu_blas_enter(void) {
    for (;;) {
        int n = atomic_load(&inside);
        if (n < atomic_load(&allowed)) {
            if (atomic_compare_exchange_weak(&inside, &n, n + 1)) return;
        } else {
            sched_yield();
        }
    }
}

void cpu_blas_leave(void) { atomic_fetch_sub(&inside, 1); }
