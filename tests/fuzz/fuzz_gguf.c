/* libFuzzer harness: the GGUF reader. Of a file it accepts, every metadata
 * element is read through every accessor (every string byte touched), every
 * getter asked of every key, every tensor found by name, its raw bytes read,
 * and tensors of up to 2^22 elements dequantized with every float read, so
 * a bound that lets a value or a tensor reach outside the buffer shows. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "format/gguf.h"
#include "format/gguf_quants.h"

#define MAX_ELEMENTS (1u << 22)

static volatile unsigned sink;

static void touch_metadata(const gguf_file *f) {
    for (size_t i = 0; i < gguf_kv_count(f); i++) {
        const char *key = gguf_kv_key(f, i);
        const gguf_value *v = gguf_kv_value(f, i);
        sink += gguf_get(f, key) == v;
        for (uint64_t e = 0; e < v->count; e++) {
            int64_t n;
            double x;
            int b;
            gguf_str s;
            if (gguf_value_i64(v, e, &n)) sink += (unsigned)n;
            if (gguf_value_f64(v, e, &x)) sink += x == x;
            if (gguf_value_bool(v, e, &b)) sink += (unsigned)b;
            if (gguf_value_string(v, e, &s))
                for (size_t c = 0; c < s.len; c++) sink += (unsigned char)s.ptr[c];
        }
        uint32_t u, elem;
        uint64_t count;
        float x;
        int b;
        gguf_str s;
        sink += gguf_get_u32(f, key, &u) + gguf_get_f32(f, key, &x) + gguf_get_bool(f, key, &b) +
                gguf_get_string(f, key, &s) + (gguf_get_array(f, key, &elem, &count) != NULL);
    }
}

static void touch_tensors(const gguf_file *f) {
    for (size_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        sink += gguf_find_tensor(f, t->name) == t;
        for (size_t b = 0; b < t->nbytes; b++) sink += t->data[b];
        if (t->n_elements > MAX_ELEMENTS) continue;
        float *out = malloc((size_t)t->n_elements * sizeof *out);
        if (!out) continue;
        if (gguf_dequantize(t->type, t->data, (size_t)t->n_elements, out) == NT5_OK)
            for (uint64_t e = 0; e < t->n_elements; e++) sink += out[e] == out[e];
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *f = NULL;
    if (gguf_parse(data, size, "fuzz", &f) == NT5_OK) {
        touch_metadata(f);
        touch_tensors(f);
        gguf_close(f);
    }
    return 0;
}
