/* The batches of a corpus window encoded on several threads at once, each a
 * call of its own on the shared model, their results handed back in order.
 * On the CPU this is the faster way to spend the cores on many batches:
 * each call runs on its share of the model's threads (its own products,
 * norms and attention, with no wait for the others), instead of every call
 * cutting each product into pieces for all of them. */
#ifndef NT5_CLI_CORPUS_BATCHES_H
#define NT5_CLI_CORPUS_BATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "nt5.h"

typedef struct corpus_batch {
    const int32_t *ids;     /* the captions' tokens laid out as nt5_encode_ids takes them */
    const size_t *lengths;  /* [n] */
    size_t n;               /* captions */
    nt5_embeddings *result; /* once encoded; freed after the batch's `done` */
    nt5_status status;
    char error[512]; /* nt5_last_error() of a failed call (it is the worker thread's) */
} corpus_batch;

/* Called on the calling thread for batch i, in order, once it is encoded
 * (status and error say whether it was); nonzero stops the run, and is
 * returned. */
typedef int (*corpus_batch_done)(void *ctx, corpus_batch *b, size_t i);

/* Encodes batches[0..count) with eo, `parallel` at once on threads of their
 * own (fewer when some cannot be started), calling done on the calling
 * thread for each in order; every result is freed after its done. 0,
 * done's nonzero, or 1 when no thread can be started (printed). */
int corpus_encode_batches(const nt5_model *m, const nt5_encode_options *eo, corpus_batch *batches, size_t count,
                          size_t parallel, corpus_batch_done done, void *ctx);

/* The batches a run encodes at once by default: on the CPU one per thread
 * of the model, but no more than fit a quarter of the memory by a bound on
 * each batch's activations (batch_size captions of max_length tokens), no
 * more than a quarter of a window's batches (so that few threads wait at
 * a window's end), and a number the threads divide by; on a GPU one. */
size_t corpus_default_parallel(const nt5_model_info *info, size_t batch_size, size_t max_length, size_t window_batches);

#endif
