#include "backend/cpu/cpu_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/error.h"

/* A thread with nothing to do first spins this many pauses (some tens of
 * microseconds) watching for work before it sleeps: a decoding step posts
 * about a hundred short jobs, and waking a sleeping thread takes a system
 * call on each side and often longer than the job. */
#define SPIN_PAUSES 20000

static void pause_once(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

typedef struct pool_job {
    pool_fn fn;
    void *ctx;
    size_t ntasks, next_task, slots, max_slots; /* slots: threads that have joined, at most max_slots */
    atomic_size_t done;                         /* written under the pool's lock, watched without it */
    struct pool_job *next;
    pthread_cond_t finished;
} pool_job;

struct cpu_pool {
    int threads;
    pthread_t *workers;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t work;
    pool_job *jobs;     /* jobs that still have tasks to hand out */
    atomic_uint posted; /* jobs posted so far, watched by spinning workers */
    atomic_int stopping;
    int sleepers; /* workers waiting on `work` */
};

static void unlink_job(cpu_pool *p, pool_job *job) {
    for (pool_job **pp = &p->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == job) {
            *pp = job->next;
            return;
        }
    }
}

/* Works on `job` until it has no tasks left; called with the lock held. */
static void work_on(cpu_pool *p, pool_job *job) {
    size_t slot = job->slots++;
    while (job->next_task < job->ntasks) {
        size_t task = job->next_task++;
        if (job->next_task == job->ntasks) unlink_job(p, job);
        pthread_mutex_unlock(&p->lock);
        job->fn(job->ctx, task, slot);
        pthread_mutex_lock(&p->lock);
        if (atomic_fetch_add(&job->done, 1) + 1 == job->ntasks) pthread_cond_signal(&job->finished);
    }
}

/* Spins until `posted` moves from `seen` (or the pool stops), for at most
 * SPIN_PAUSES pauses; called without the lock. */
static void spin_for_work(cpu_pool *p, unsigned seen) {
    for (int i = 0; i < SPIN_PAUSES; i++) {
        if (atomic_load_explicit(&p->posted, memory_order_relaxed) != seen ||
            atomic_load_explicit(&p->stopping, memory_order_relaxed))
            return;
        pause_once();
    }
}

/* The first job with tasks to hand out that another thread may join; called
 * with the lock held. */
static pool_job *joinable_job(cpu_pool *p) {
    for (pool_job *job = p->jobs; job; job = job->next)
        if (job->slots < job->max_slots) return job;
    return NULL;
}

static void *worker_main(void *arg) {
    cpu_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!atomic_load(&p->stopping)) {
        pool_job *job = joinable_job(p);
        if (job) {
            work_on(p, job);
            continue;
        }
        unsigned seen = atomic_load(&p->posted);
        pthread_mutex_unlock(&p->lock);
        spin_for_work(p, seen);
        pthread_mutex_lock(&p->lock);
        if (!joinable_job(p) && !atomic_load(&p->stopping)) { /* nothing came: sleep until a job is posted */
            p->sleepers++;
            pthread_cond_wait(&p->work, &p->lock);
            p->sleepers--;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

nt5_status pool_create(int threads, cpu_pool **out) {
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    p->workers = calloc((size_t)p->threads, sizeof *p->workers);
    if (!p->workers) {
        pool_destroy(p);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 1; i < p->threads; i++) {
        if (pthread_create(&p->workers[p->started], NULL, worker_main, p) != 0) {
            int wanted = p->threads;
            pool_destroy(p);
            return err_set(NT5_ERR_INTERNAL, "cannot start CPU worker thread %d of %d", i, wanted);
        }
        p->started++;
    }
    *out = p;
    return NT5_OK;
}

void pool_destroy(cpu_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, 1);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}

int pool_threads(const cpu_pool *p) { return p->threads; }

int pool_threads_for(const cpu_pool *p, int limit) { return limit > 0 && limit < p->threads ? limit : p->threads; }

void pool_run(cpu_pool *p, int limit, size_t ntasks, pool_fn fn, void *ctx) {
    if (ntasks == 0) return;
    size_t threads = (size_t)pool_threads_for(p, limit);
    if (ntasks == 1 || threads == 1) {
        for (size_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    pool_job job = {.fn = fn, .ctx = ctx, .ntasks = ntasks, .max_slots = threads};
    atomic_init(&job.done, 0);
    pthread_cond_init(&job.finished, NULL);
    pthread_mutex_lock(&p->lock);
    job.next = p->jobs;
    p->jobs = &job;
    atomic_fetch_add(&p->posted, 1);
    if (p->sleepers) pthread_cond_broadcast(&p->work);
    work_on(p, &job);
    if (atomic_load(&job.done) < job.ntasks) { /* others still work on it: spin a while, then sleep */
        pthread_mutex_unlock(&p->lock);
        for (int i = 0; i < SPIN_PAUSES && atomic_load_explicit(&job.done, memory_order_acquire) < job.ntasks; i++)
            pause_once();
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&job.done) < job.ntasks) pthread_cond_wait(&job.finished, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&job.finished);
}
