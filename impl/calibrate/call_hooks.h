/* Hooks that the calls made next on this thread run with: the observer of
 * the f16 calibration, and the f16 emulation of diagnostics. Internal
 * callers (calibrate.c, diagnose.c) set them around public calls on the
 * model and clear them after; every other call runs without. Both need a
 * backend whose buffers are host memory (the CPU). */
#ifndef NT5_IMPL_CALL_HOOKS_H
#define NT5_IMPL_CALL_HOOKS_H

#include "backend/backend.h"

typedef struct call_hooks {
    const linear_observer *observer;
    /* 1: a product whose matrix has an input exponent (f16 files) rounds its
     * input to f16 after dividing by 2^input_exp, as the half-precision GPU
     * path computes it */
    int emulate_f16;
} call_hooks;

void call_hooks_set(const call_hooks *hooks); /* NULL clears */
/* Copies this thread's hooks into a call's exec context. */
void call_hooks_apply(exec_ctx *x);

#endif
