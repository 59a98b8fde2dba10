/* The CUDA backend's token picks (backend.h greedy_pick, sample_pick,
 * beam_candidates): a kernel chooses on the GPU and only ids and scores are
 * downloaded. */
#include "kernels/host/picks.h"

#include <stdlib.h>

#include "kernels/device/launch.h"
#include "kernels/host/session.h"

/* The session's device ids [rows] and log-probabilities [rows] of a pick,
 * then `extra` bytes (8-aligned), which it returns. */
static char *pick_buffers(exec_ctx *x, size_t rows, size_t extra, int32_t **ids, float **logprobs) {
    cuda_session *s = session_of(x);
    size_t picks = rows * (sizeof **ids + sizeof **logprobs);
    char *dev = cuda_grow(x, &s->picks, &s->picks_cap, picks + extra);
    if (!dev) return NULL;
    *ids = (int32_t *)dev;
    *logprobs = (float *)(dev + rows * sizeof **ids);
    return dev + picks;
}

/* The pick's ids and log-probabilities to the host, once its kernel (queued, e: its launch) ran. */
static void download_picks(exec_ctx *x, cudaError_t e, const char *what, const int32_t *dev_ids, const float *dev_lp,
                           size_t rows, int32_t *ids, float *logprobs) {
    cudaStream_t stream = session_of(x)->stream;
    if (cuda_failed(x, e, what) ||
        cuda_failed(x, cudaMemcpyAsync(ids, dev_ids, rows * sizeof *ids, cudaMemcpyDeviceToHost, stream), "download") ||
        cuda_failed(x, cudaMemcpyAsync(logprobs, dev_lp, rows * sizeof *logprobs, cudaMemcpyDeviceToHost, stream),
                    "download"))
        return;
    cuda_failed(x, cudaStreamSynchronize(stream), what);
}

void cuda_greedy_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, int32_t *ids, float *logprobs) {
    int32_t *dev_ids;
    float *dev_lp;
    if (rows == 0 || !pick_buffers(x, rows, 0, &dev_ids, &dev_lp)) return;
    download_picks(x, launch_greedy_pick(logits, rows, V, dev_ids, dev_lp, session_of(x)->stream), "greedy pick",
                   dev_ids, dev_lp, rows, ids, logprobs);
}

void cuda_sample_pick(exec_ctx *x, const float *logits, size_t rows, size_t V, const nt5_generate_options *o,
                      const double *u, int32_t *ids, float *logprobs) {
    cuda_session *s = session_of(x);
    int32_t *dev_ids;
    float *dev_lp;
    double *dev_u; /* [rows] the draws, then for top-p [rows, V] the kernel's exponentials */
    size_t weights = o->top_p < 1.0f ? rows * V : 0;
    if (rows == 0 || !(dev_u = (double *)pick_buffers(x, rows, (rows + weights) * sizeof *u, &dev_ids, &dev_lp)) ||
        cuda_failed(x, cudaMemcpyAsync(dev_u, u, rows * sizeof *u, cudaMemcpyHostToDevice, s->stream), "upload"))
        return;
    download_picks(x,
                   launch_sample_pick(logits, rows, V, o->temperature, o->top_k, o->top_p, dev_u,
                                      weights ? dev_u + rows : NULL, dev_ids, dev_lp, s->stream),
                   "sampling", dev_ids, dev_lp, rows, ids, logprobs);
}

void cuda_beam_candidates(exec_ctx *x, const float *logits, size_t rows, size_t V, const float *base, size_t n,
                          beam_candidate *out) {
    cuda_session *s = session_of(x);
    if (rows == 0 || n == 0) return;
    /* device: base [rows], scores [rows, n], tokens [rows, n]; host: the same, then merged into out */
    size_t floats = rows + rows * n, bytes = floats * sizeof(float) + rows * n * sizeof(int32_t);
    char *dev = cuda_grow(x, &s->picks, &s->picks_cap, bytes);
    char *host = malloc(bytes);
    if (!host) x->status = backend_of(x)->host->set_error(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (!dev || !host) {
        free(host);
        return;
    }
    float *dev_base = (float *)dev, *dev_scores = dev_base + rows;
    int32_t *dev_tokens = (int32_t *)(dev + floats * sizeof(float));
    float *scores = (float *)host + rows;
    int32_t *tokens = (int32_t *)(host + floats * sizeof(float));
    if (!cuda_failed(x, cudaMemcpyAsync(dev_base, base, rows * sizeof *base, cudaMemcpyHostToDevice, s->stream),
                     "upload") &&
        !cuda_failed(x, launch_beam_candidates(logits, rows, V, dev_base, n, dev_scores, dev_tokens, s->stream),
                     "beam") &&
        !cuda_failed(x,
                     cudaMemcpyAsync(host + rows * sizeof(float), dev_scores, bytes - rows * sizeof(float),
                                     cudaMemcpyDeviceToHost, s->stream),
                     "download") &&
        !cuda_failed(x, cudaStreamSynchronize(s->stream), "beam"))
        for (size_t i = 0; i < rows * n; i++) out[i] = (beam_candidate){scores[i], tokens[i], (int32_t)(i / n)};
    free(host);
}
