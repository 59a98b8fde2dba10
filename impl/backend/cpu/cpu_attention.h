/* The CPU backend's T5 attention (backend.h attention). */
#ifndef NT5_IMPL_CPU_ATTENTION_H
#define NT5_IMPL_CPU_ATTENTION_H

#include "backend/backend.h"

void cpu_attention(exec_ctx *x, const attn_args *a);

#endif
