#include "tokenizer/spiece_write.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* protobuf wire types */
enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

/* A growing byte buffer; `failed` once an allocation failed. */
typedef struct buffer {
    uint8_t *bytes;
    size_t len, cap;
    int failed;
} buffer;

static void put(buffer *b, const void *src, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *grown = realloc(b->bytes, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->bytes = grown;
        b->cap = cap;
    }
    memcpy(b->bytes + b->len, src, n);
    b->len += n;
}

static void varint(buffer *b, uint64_t v) {
    uint8_t out[10];
    size_t n = 0;
    do {
        out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, out, n);
}

static void tag(buffer *b, unsigned field, unsigned wire) { varint(b, (uint64_t)field << 3 | wire); }

/* int32 fields are varints of their 64-bit two's complement (-1: ten bytes) */
static void int_field(buffer *b, unsigned field, int64_t v) {
    tag(b, field, WIRE_VARINT);
    varint(b, (uint64_t)v);
}

static void bytes_field(buffer *b, unsigned field, const void *data, size_t n) {
    tag(b, field, WIRE_LEN);
    varint(b, n);
    put(b, data, n);
}

static void float_field(buffer *b, unsigned field, float v) {
    uint8_t le[4];
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 4; i++) le[i] = (uint8_t)(bits >> (8 * i));
    tag(b, field, WIRE_FIXED32);
    put(b, le, sizeof le);
}

/* a sub-message: written into its own buffer, then as a length-delimited field */
static void message_field(buffer *b, unsigned field, buffer *sub) {
    if (sub->failed) b->failed = 1;
    else bytes_field(b, field, sub->bytes, sub->len);
    free(sub->bytes);
    *sub = (buffer){0};
}

nt5_status spiece_write(const spiece_parts *p, uint8_t **out, size_t *len) {
    buffer model = {0}, sub = {0};
    for (size_t i = 0; i < p->count; i++) {
        bytes_field(&sub, 1, p->pieces[i].text, p->pieces[i].len);
        float_field(&sub, 2, p->pieces[i].score);
        if (p->pieces[i].type != SPIECE_NORMAL) int_field(&sub, 3, p->pieces[i].type);
        message_field(&model, 1, &sub);
    }
    int_field(&sub, 3, 1); /* UNIGRAM */
    int_field(&sub, 4, (int64_t)p->count);
    int_field(&sub, 40, p->unk_id);
    int_field(&sub, 41, p->bos_id);
    int_field(&sub, 42, p->eos_id);
    int_field(&sub, 43, p->pad_id);
    message_field(&model, 2, &sub);
    static const char name[] = "nmt_nfkc";
    if (p->charsmap_len) {
        bytes_field(&sub, 1, name, sizeof name - 1);
        bytes_field(&sub, 2, p->charsmap, p->charsmap_len);
    } else {
        bytes_field(&sub, 1, "identity", 8);
    }
    int_field(&sub, 3, p->add_dummy_prefix != 0);
    int_field(&sub, 4, p->remove_extra_whitespaces != 0);
    int_field(&sub, 5, 1);
    message_field(&model, 3, &sub);
    if (model.failed) {
        free(model.bytes);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory writing a sentencepiece model");
    }
    *out = model.bytes;
    *len = model.len;
    return NT5_OK;
}
