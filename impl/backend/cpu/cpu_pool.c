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

/* The lock guards the list of jobs and the joining of one; the tasks are
 * claimed, and a job left, with atomics alone, so that a decoding step's
 * short jobs never find the lock held (a waiter on a held glibc mutex
 * sleeps in the kernel, which costs more than many of those jobs). */
typedef struct pool_job {
    pool_fn fn;
    void *ctx;
    size_t ntasks, slots, max_slots; /* slots: threads that have joined (under the lock), at most max_slots */
    atomic_size_t next_task;         /* the next task to claim; ntasks or more when all are claimed */
    atomic_size_t working;           /* threads other than the poster that joined and have not left */
    struct pool_job *next;
} pool_job;

struct cpu_pool {
    int threads;
    pthread_t *workers;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a job was posted */
    pthread_cond_t finished; /* the last of a job's workers left it */
    pool_job *jobs;          /* jobs that are posted and not yet full */
    atomic_uint posted;      /* jobs posted so far, watched by spinning workers */
    atomic_int stopping;
    atomic_int waiting; /* posters asleep on `finished` (or about to be) */
    int sleepers;       /* workers asleep on `work` */
};

static void unlink_job(cpu_pool *p, pool_job *job) {
    for (pool_job **pp = &p->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == job) {
            *pp = job->next;
            return;
        }
    }
}

/* Runs the tasks this thread claims until none is left. */
static void claim_tasks(pool_job *job, size_t slot) {
    for (;;) {
        size_t task = atomic_fetch_add_explicit(&job->next_task, 1, memory_order_relaxed);
        if (task >= job->ntasks) return;
        job->fn(job->ctx, task, slot);
    }
}

/* The first job with tasks left to claim that another thread may join;
 * called with the lock held. */
static pool_job *joinable_job(cpu_pool *p) {
    for (pool_job *job = p->jobs; job; job = job->next)
        if (job->slots < job->max_slots && atomic_load_explicit(&job->next_task, memory_order_relaxed) < job->ntasks)
            return job;
    return NULL;
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

/* A job to join, waiting for one (spinning, then asleep) when there is
 * none; NULL when the pool stops. Called with the lock held. */
static pool_job *next_job(cpu_pool *p) {
    for (;;) {
        if (atomic_load(&p->stopping)) return NULL;
        pool_job *job = joinable_job(p);
        if (job) return job;
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
}

/* A worker leaves `job`: its last touch of it, after which the poster may
 * return. The last to leave wakes a poster that sleeps (the poster counts
 * itself in `waiting` before it looks at `working`, the worker leaves
 * before it looks at `waiting`: one of them sees the other). */
static void leave_job(cpu_pool *p, pool_job *job) {
    if (atomic_fetch_sub(&job->working, 1) == 1 && atomic_load(&p->waiting)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->finished);
        pthread_mutex_unlock(&p->lock);
    }
}

static void *worker_main(void *arg) {
    cpu_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (pool_job *job; (job = next_job(p)) != NULL;) {
        size_t slot = job->slots++;
        atomic_fetch_add_explicit(&job->working, 1, memory_order_relaxed);
        if (job->slots == job->max_slots) unlink_job(p, job);
        pthread_mutex_unlock(&p->lock);
        claim_tasks(job, slot);
        leave_job(p, job);
        pthread_mutex_lock(&p->lock);
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
    pthread_cond_init(&p->finished, NULL);
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
    pthread_cond_destroy(&p->finished);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}

int pool_threads(const cpu_pool *p) { return p->threads; }

int pool_threads_for(const cpu_pool *p, int limit) { return limit > 0 && limit < p->threads ? limit : p->threads; }

/* Waits until every worker that joined `job` has left it: spinning a
 * while, then asleep. */
static void wait_for_workers(cpu_pool *p, pool_job *job) {
    for (int i = 0; i < SPIN_PAUSES && atomic_load_explicit(&job->working, memory_order_acquire); i++) pause_once();
    if (!atomic_load_explicit(&job->working, memory_order_acquire)) return;
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->waiting, 1);
    while (atomic_load(&job->working)) pthread_cond_wait(&p->finished, &p->lock);
    atomic_fetch_sub(&p->waiting, 1);
    pthread_mutex_unlock(&p->lock);
}

void pool_run(cpu_pool *p, int limit, size_t ntasks, pool_fn fn, void *ctx) {
    if (ntasks == 0) return;
    size_t threads = (size_t)pool_threads_for(p, limit);
    if (ntasks == 1 || threads == 1) {
        for (size_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    pool_job job = {.fn = fn, .ctx = ctx, .ntasks = ntasks, .slots = 1, .max_slots = threads}; /* slot 0: ours */
    atomic_init(&job.next_task, 0);
    atomic_init(&job.working, 0);
    pthread_mutex_lock(&p->lock);
    job.next = p->jobs;
    p->jobs = &job;
    if (p->sleepers) pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    atomic_fetch_add(&p->posted, 1); /* after the unlock: a worker that sees it finds the lock free */
    claim_tasks(&job, 0);
    pthread_mutex_lock(&p->lock);
    unlink_job(p, &job); /* no thread joins from here on */
    pthread_mutex_unlock(&p->lock);
    wait_for_workers(p, &job);
}
