#include "calibrate/call_hooks.h"

static _Thread_local const call_hooks *current;

void call_hooks_set(const call_hooks *hooks) { current = hooks; }

void call_hooks_apply(exec_ctx *x) {
    x->observer = current ? current->observer : NULL;
    x->emulate_f16 = current ? current->emulate_f16 : 0;
}
