#include "backend/cpu/cpu_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/error.h"

typedef struct pool_job {
    pool_fn fn;
    void *ctx;
    size_t ntasks, next_task, done, slots;
    struct pool_job *next;
    pthread_cond_t finished;
} pool_job;

struct cpu_pool {
    int threads;
    pthread_t *workers;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t work;
    pool_job *jobs; /* jobs that still have tasks to hand out */
    int stopping;
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
        if (++job->done == job->ntasks) pthread_cond_signal(&job->finished);
    }
}

static void *worker_main(void *arg) {
    cpu_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->jobs && !p->stopping) pthread_cond_wait(&p->work, &p->lock);
        if (p->stopping) break;
        work_on(p, p->jobs);
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
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}

int pool_threads(const cpu_pool *p) { return p->threads; }

void pool_run(cpu_pool *p, size_t ntasks, pool_fn fn, void *ctx) {
    if (ntasks == 0) return;
    if (ntasks == 1 || p->threads == 1) {
        for (size_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    pool_job job = {.fn = fn, .ctx = ctx, .ntasks = ntasks};
    pthread_cond_init(&job.finished, NULL);
    pthread_mutex_lock(&p->lock);
    job.next = p->jobs;
    p->jobs = &job;
    pthread_cond_broadcast(&p->work);
    work_on(p, &job);
    while (job.done < job.ntasks) pthread_cond_wait(&job.finished, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&job.finished);
}
