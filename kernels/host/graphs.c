/* Recorded decoding steps (backend.h run_recorded): CUDA graphs.
 * The first call of a slot runs the step as is (it sizes every scratch
 * buffer), the second is captured into a graph and launched, later calls
 * launch the graph: one launch instead of a few hundred. A step that cannot
 * be captured (a buffer would move, an upload) runs as is from then on. */
#include "kernels/host/graphs.h"

#include <stdlib.h>

#include "kernels/device/launch.h"
#include "kernels/host/session.h"

typedef struct cuda_recording {
    int calls, unrecordable;
    cudaGraphExec_t exec;
} cuda_recording;

/* Captures body into r->exec; cudaSuccess when the graph is ready (nothing has run yet). */
static cudaError_t record(exec_ctx *x, cuda_recording *r, void (*body)(exec_ctx *x, void *ctx), void *ctx) {
    cuda_session *s = session_of(x);
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamBeginCapture(s->stream, cudaStreamCaptureModeThreadLocal);
    if (e != cudaSuccess) return e;
    s->capturing = 1;
    s->capture_broken = 0;
    body(x, ctx);
    s->capturing = 0;
    e = cudaStreamEndCapture(s->stream, &graph);
    if (e == cudaSuccess && (x->status != NT5_OK || s->capture_broken)) e = cudaErrorStreamCaptureInvalidated;
    if (e == cudaSuccess) e = cudaGraphInstantiate(&r->exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (e != cudaSuccess) r->exec = NULL;
    return e;
}

void cuda_run_recorded(exec_ctx *x, void **slot, void (*body)(exec_ctx *x, void *ctx), void *ctx) {
    cuda_session *s = session_of(x);
    cuda_recording *r = *slot;
    if (s->cb->disabled & CUDA_OFF_GRAPHS) {
        body(x, ctx);
        return;
    }
    if (!r && !(r = *slot = calloc(1, sizeof *r))) {
        body(x, ctx); /* no memory for the bookkeeping: run as is */
        return;
    }
    if (!r->exec && (r->unrecordable || r->calls++ == 0)) {
        body(x, ctx);
        return;
    }
    if (!r->exec) {
        if (record(x, r, body, ctx) != cudaSuccess) {
            cudaGetLastError();
            x->status = NT5_OK; /* what failed was the capture, and nothing ran: run the step as is */
            r->unrecordable = 1;
            body(x, ctx);
            return;
        }
        s->recordings++;
    }
    cuda_failed(x, cudaGraphLaunch(r->exec, s->stream), "replaying a decoding step");
}

void cuda_free_recorded(exec_ctx *x, void *slot) {
    cuda_recording *r = slot;
    if (!r) return;
    if (r->exec) {
        cuda_session *s = session_of(x);
        cuda_failed(x, cudaStreamSynchronize(s->stream), "decoding");
        cudaGraphExecDestroy(r->exec);
        s->recordings--;
    }
    free(r);
}
