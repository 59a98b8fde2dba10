/* Public entry points: encoding texts or ids into hidden states. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/options.h"
#include "forward/encode.h"
#include "model/inputs.h"
#include "model/model.h"

struct nt5_embeddings {
    void *data; /* [batch, len, d] in dtype: owned, or the caller's output_buffer */
    int owns_data;
    int32_t dtype;
    size_t batch, len, d;
    size_t *lengths; /* [batch] */
    int32_t *ids;    /* [batch, len] */
};

static const nt5_encode_options encode_defaults = {
    .struct_size = sizeof(nt5_encode_options),
    .padding = NT5_PADDING_LONGEST,
    .max_length = 0,
    .truncation = 1,
    .attention = NT5_ATTEND_MASKED,
    .output_dtype = NT5_DTYPE_F32,
    .zero_padding = 0,
    .output_memory = NT5_MEMORY_HOST,
    .output_buffer = NULL,
    .output_capacity = 0,
    .num_threads = 0,
};

/* the smallest struct a caller may pass: struct_size and the first field */
#define ENCODE_OPTIONS_MIN (offsetof(nt5_encode_options, padding) + sizeof(int32_t))

nt5_status nt5_encode_options_init(nt5_encode_options *opts, uint32_t struct_size) {
    return opts_init(opts, struct_size, &encode_defaults, ENCODE_OPTIONS_MIN, sizeof *opts, "nt5_encode_options");
}

nt5_status nt5_encode_options_preset(nt5_encode_options *opts, int32_t preset) {
    static const struct {
        int32_t preset, max_length, attention, zero_padding;
    } presets[] = {
        {NT5_PRESET_FLUX, 512, NT5_ATTEND_ALL, 0},
        {NT5_PRESET_SD3, 256, NT5_ATTEND_ALL, 0},
        {NT5_PRESET_PIXART, 300, NT5_ATTEND_MASKED, 0},
        {NT5_PRESET_WAN, 512, NT5_ATTEND_MASKED, 1},
    };
    if (!opts) return err_set(NT5_ERR_INVALID_ARG, "opts is NULL");
    nt5_status st = opts_check_size(opts->struct_size, ENCODE_OPTIONS_MIN, sizeof *opts, "nt5_encode_options");
    if (st != NT5_OK) return st;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (presets[i].preset != preset) continue;
        /* work on a full struct: the caller's may be an older, smaller one */
        nt5_encode_options full = encode_defaults;
        memcpy(&full, opts, opts->struct_size);
        full.padding = NT5_PADDING_MAX_LENGTH;
        full.max_length = presets[i].max_length;
        full.truncation = 1;
        full.attention = presets[i].attention;
        full.zero_padding = presets[i].zero_padding;
        memcpy(opts, &full, opts->struct_size);
        return NT5_OK;
    }
    return err_set(NT5_ERR_INVALID_ARG, "unknown encode preset %d", preset);
}

static nt5_status check_encode_options(const nt5_encode_options *o) {
    if (o->padding != NT5_PADDING_LONGEST && o->padding != NT5_PADDING_MAX_LENGTH)
        return err_set(NT5_ERR_INVALID_ARG, "padding %d is not NT5_PADDING_LONGEST or NT5_PADDING_MAX_LENGTH",
                       o->padding);
    if (o->attention != NT5_ATTEND_MASKED && o->attention != NT5_ATTEND_ALL)
        return err_set(NT5_ERR_INVALID_ARG, "attention %d is not NT5_ATTEND_MASKED or NT5_ATTEND_ALL", o->attention);
    if (o->output_dtype != NT5_DTYPE_F32 && o->output_dtype != NT5_DTYPE_F16 && o->output_dtype != NT5_DTYPE_BF16)
        return err_set(NT5_ERR_INVALID_ARG, "output_dtype %d is not an NT5_DTYPE_*", o->output_dtype);
    if (o->max_length < 0 || o->max_length > (1 << 20))
        return err_set(NT5_ERR_INVALID_ARG, "max_length %d is out of range", o->max_length);
    if (o->output_memory != NT5_MEMORY_HOST && o->output_memory != NT5_MEMORY_DEVICE)
        return err_set(NT5_ERR_INVALID_ARG, "output_memory %d is not NT5_MEMORY_HOST or NT5_MEMORY_DEVICE",
                       o->output_memory);
    if (!o->output_buffer && o->output_capacity)
        return err_set(NT5_ERR_INVALID_ARG, "output_buffer is NULL but output_capacity is %zu", o->output_capacity);
    if (o->num_threads < 0) return err_set(NT5_ERR_INVALID_ARG, "num_threads %d is negative", o->num_threads);
    if (o->output_memory == NT5_MEMORY_DEVICE && !o->output_buffer)
        return err_set(NT5_ERR_INVALID_ARG,
                       "NT5_MEMORY_DEVICE output needs output_buffer: a device pointer of "
                       "output_capacity bytes");
    return NT5_OK;
}

void nt5_embeddings_free(nt5_embeddings *e) {
    if (!e) return;
    if (e->owns_data) free(e->data);
    free(e->lengths);
    free(e->ids);
    free(e);
}

/* Where the hidden states go: the caller's buffer, or host memory e owns. */
static nt5_status output_place(const nt5_model *m, const nt5_encode_options *o, const batch_input *in,
                               nt5_embeddings *e) {
    size_t bytes = in->batch * in->len * (size_t)m->cfg.d_model * (o->output_dtype == NT5_DTYPE_F32 ? 4 : 2);
    if (o->output_memory == NT5_MEMORY_DEVICE && m->be->ops->device != NT5_DEVICE_CUDA)
        return err_set(NT5_ERR_UNSUPPORTED, "NT5_MEMORY_DEVICE output: the model runs on the %s", m->be->ops->name);
    if (o->output_buffer) {
        if (o->output_capacity < bytes)
            return err_set(NT5_ERR_BUFFER_TOO_SMALL,
                           "the hidden states [%zu, %zu, %d] need %zu bytes; output_capacity "
                           "is %zu",
                           in->batch, in->len, m->cfg.d_model, bytes, o->output_capacity);
        e->data = o->output_buffer;
        return NT5_OK;
    }
    e->data = malloc(bytes ? bytes : 1);
    e->owns_data = 1;
    return e->data ? NT5_OK : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory for %zu bytes of hidden states", bytes);
}

static nt5_status encode(const nt5_model *m, const input_spec *spec, const nt5_encode_options *opts,
                         nt5_embeddings **out) {
    if (out) *out = NULL;
    if (!m || !out) return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", m ? "out" : "model");
    nt5_encode_options o = encode_defaults;
    nt5_status st = opts_overlay(&o, sizeof o, opts, ENCODE_OPTIONS_MIN, "nt5_encode_options");
    if (st == NT5_OK) st = check_encode_options(&o);
    if (st != NT5_OK) return st;
    batch_input in;
    st = inputs_prepare(m, spec, o.max_length, o.truncation, o.padding == NT5_PADDING_MAX_LENGTH, &in);
    if (st != NT5_OK) return st;
    nt5_embeddings *e = calloc(1, sizeof *e);
    if (!e) {
        inputs_free(&in);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    st = output_place(m, &o, &in, e);
    encode_output where = {.dst = e->data,
                           .on_device = o.output_memory == NT5_MEMORY_DEVICE,
                           .dtype = o.output_dtype,
                           .attend_all = o.attention == NT5_ATTEND_ALL,
                           .zero_padding = o.zero_padding,
                           .max_threads = o.num_threads};
    if (st == NT5_OK) st = encode_run(m, m->be, &in, &where);
    e->dtype = o.output_dtype;
    e->batch = in.batch;
    e->len = in.len;
    e->d = (size_t)m->cfg.d_model;
    e->lengths = in.lengths;
    e->ids = in.ids;
    if (st != NT5_OK) {
        nt5_embeddings_free(e);
        return st;
    }
    *out = e;
    return NT5_OK;
}

nt5_status nt5_encode_texts(const nt5_model *model, const char *const *texts, size_t batch,
                            const nt5_encode_options *opts, nt5_embeddings **out) {
    if (!texts) {
        if (out) *out = NULL;
        return err_set(NT5_ERR_INVALID_ARG, "texts is NULL");
    }
    input_spec spec = {.texts = texts, .batch = batch};
    return encode(model, &spec, opts, out);
}

nt5_status nt5_encode_ids(const nt5_model *model, const int32_t *ids, const size_t *lengths, size_t batch,
                          const nt5_encode_options *opts, nt5_embeddings **out) {
    if (!ids || !lengths) {
        if (out) *out = NULL;
        return err_set(NT5_ERR_INVALID_ARG, "%s is NULL", ids ? "lengths" : "ids");
    }
    input_spec spec = {.ids = ids, .lengths = lengths, .batch = batch};
    return encode(model, &spec, opts, out);
}

nt5_status nt5_embeddings_shape(const nt5_embeddings *e, size_t *batch, size_t *seq_len, size_t *d_model) {
    if (!e) return err_set(NT5_ERR_INVALID_ARG, "embeddings is NULL");
    if (batch) *batch = e->batch;
    if (seq_len) *seq_len = e->len;
    if (d_model) *d_model = e->d;
    return NT5_OK;
}

int32_t nt5_embeddings_dtype(const nt5_embeddings *e) { return e ? e->dtype : -1; }
const void *nt5_embeddings_data(const nt5_embeddings *e) { return e ? e->data : NULL; }
const size_t *nt5_embeddings_lengths(const nt5_embeddings *e) { return e ? e->lengths : NULL; }
const int32_t *nt5_embeddings_token_ids(const nt5_embeddings *e) { return e ? e->ids : NULL; }
