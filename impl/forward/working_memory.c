#include "forward/working_memory.h"

#include "forward/blocks.h"

size_t working_floats(const t5_config *c, size_t len, size_t new_tokens, int has_decoder) {
    size_t d = (size_t)c->d_model, inner = block_inner(c), F = (size_t)c->d_ff;
    size_t per_row = 3 * d + 4 * inner + block_ffn_floats(c, 1) + F + 1; /* h, n, out | qkv, attn | ff, act | ids */
    size_t floats = len * per_row;
    if (has_decoder)
        floats += (size_t)c->num_decoder_layers * 2 * inner * (new_tokens + len) /* self and cross caches */
                  + per_row + (size_t)c->vocab_size;                             /* a step, logits */
    return floats;
}

void working_memory_reserve(const nt5_model *m) {
    size_t len = m->max_input_length > 0 && m->max_input_length < 512 ? (size_t)m->max_input_length : 512;
    m->be->ops->reserve(m->be, working_floats(&m->cfg, len, 64, m->has_decoder) * sizeof(float));
}
