/* A backend that wraps another: it runs the other's ops and shows the fp32
 * input of every matrix product (linear, linear_relu) to an observer
 * first, optionally rounded as the half-precision GPU path reads it. The
 * f16 calibration records input ranges through it and diagnostics emulate
 * f16 on the CPU with it (calibrate/), so the forward pass itself knows
 * nothing of either. Only over a backend whose buffers are host memory
 * (the CPU). */
#ifndef NT5_IMPL_OBSERVING_H
#define NT5_IMPL_OBSERVING_H

#include "backend/backend.h"

typedef struct product_observer {
    /* the input [rows, cols] (row stride ld_in, host memory) of a product with w */
    void (*seen)(void *user, const wmat *w, const float *in, size_t ld_in, size_t rows, size_t cols);
    void *user;
} product_observer;

/* *out runs inner's ops (inner must outlive it and stays the caller's);
 * obs (copied; may be NULL) sees each product's input; with emulate_f16 a
 * product whose matrix has an input exponent (f16 files) reads its input
 * as f16(in / 2^input_exp) * 2^input_exp. Free it with its ops->destroy. */
nt5_status observing_backend_create(const backend *inner, const product_observer *obs, int emulate_f16, backend **out);

#endif
