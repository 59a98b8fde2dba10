#include "corpus_batches.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct runner {
    const nt5_model *m;
    const nt5_encode_options *eo;
    corpus_batch *batches;
    size_t count, parallel;
    pthread_mutex_t lock;
    pthread_cond_t changed;  /* a batch finished, one was handed back, or the run stops */
    size_t next;             /* the next batch a thread takes */
    size_t handed;           /* batches handed back to the caller */
    int stop;                /* take no more batches */
    unsigned char *finished; /* [count] */
} runner;

static void encode_one(const runner *r, corpus_batch *b) {
    b->status = nt5_encode_ids(r->m, b->ids, b->lengths, b->n, r->eo, &b->result);
    if (b->status != NT5_OK) snprintf(b->error, sizeof b->error, "%s", nt5_last_error());
}

/* Takes batches in order; runs no further ahead of the caller than two
 * rounds, so that the results waiting stay few. */
static void *worker(void *arg) {
    runner *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->stop && r->next < r->count && r->next >= r->handed + 2 * r->parallel)
            pthread_cond_wait(&r->changed, &r->lock);
        if (r->stop || r->next >= r->count) break;
        size_t i = r->next++;
        pthread_mutex_unlock(&r->lock);
        encode_one(r, &r->batches[i]);
        pthread_mutex_lock(&r->lock);
        r->finished[i] = 1;
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Hands the batches back in order as they finish; done's nonzero stops the run. */
static int hand_back(runner *r, corpus_batch_done done, void *ctx) {
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t k = 0; k < r->count && !rc; k++) {
        while (!r->finished[k]) pthread_cond_wait(&r->changed, &r->lock);
        pthread_mutex_unlock(&r->lock);
        rc = done(ctx, &r->batches[k], k);
        nt5_embeddings_free(r->batches[k].result);
        r->batches[k].result = NULL;
        pthread_mutex_lock(&r->lock);
        r->handed = k + 1;
        r->stop = rc != 0;
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int corpus_encode_batches(const nt5_model *m, const nt5_encode_options *eo, corpus_batch *batches, size_t count,
                          size_t parallel, corpus_batch_done done, void *ctx) {
    if (count == 0) return 0;
    runner r = {.m = m, .eo = eo, .batches = batches, .count = count, .parallel = parallel < count ? parallel : count};
    if (r.parallel == 0) r.parallel = 1;
    pthread_t *threads = malloc(r.parallel * sizeof *threads);
    r.finished = calloc(count, 1);
    if (!threads || !r.finished) {
        free(threads);
        free(r.finished);
        fprintf(stderr, "nt5 encode: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    size_t started = 0;
    while (started < r.parallel && pthread_create(&threads[started], NULL, worker, &r) == 0) started++;
    int rc = 0;
    if (started == 0) {
        fprintf(stderr, "nt5 encode: cannot start a thread to encode on\n");
        rc = 1;
    } else {
        rc = hand_back(&r, done, ctx);
    }
    for (size_t t = 0; t < started; t++) pthread_join(threads[t], NULL);
    for (size_t k = 0; k < count; k++) { /* batches finished after the run stopped */
        nt5_embeddings_free(batches[k].result);
        batches[k].result = NULL;
    }
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
    free(r.finished);
    free(threads);
    return rc;
}

size_t corpus_default_parallel(const nt5_model_info *info, size_t batch_size, size_t max_length,
                               size_t window_batches) {
    if (info->device != NT5_DEVICE_CPU || info->num_threads <= 1) return 1;
    /* per position: residual, normed and output rows, q k v and the
     * attention's output in the products' order and in input order (the
     * batch-invariant encoder's), the feed-forward's two inputs and
     * activation */
    double per_position = 4.0 * (4.0 * info->d_model + 8.0 * info->num_heads * info->d_kv + 3.0 * info->d_ff);
    double batch_bytes = per_position * (double)batch_size * (double)max_length;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t parallel = (size_t)info->num_threads;
    if (pages > 0 && page > 0 && batch_bytes > 0) {
        double fit = (double)pages * (double)page / 4.0 / batch_bytes;
        if (fit < (double)parallel) parallel = fit >= 1 ? (size_t)fit : 1;
    }
    if (parallel > window_batches / 4) parallel = window_batches / 4 ? window_batches / 4 : 1;
    while (info->num_threads % parallel) parallel--;
    return parallel;
}
