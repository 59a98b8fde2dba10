/* Public entry points: conversion without handing out a model. The source
 * is opened on the CPU (norm scales folded while loading when asked),
 * calibrated for f16, then written as an nt5 file or an HF directory. */
#include "api/api_convert.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_hub.h"
#include "api/api_options.h"
#include "base/dtype_name.h"
#include "base/error.h"
#include "base/options.h"
#include "base/text_out.h"
#include "calibrate/calibrate.h"
#include "format/nt5_format.h"
#include "hub/hub_ref.h"
#include "model/hf_layout_write.h"
#include "model/model.h"
#include "model/nt5_file_write.h"
#include "quant/block_type.h"

static const nt5_convert_options convert_defaults = {
    .struct_size = sizeof(nt5_convert_options),
    .format = NT5_FORMAT_NT5,
    .dtype = NT5_DTYPE_AUTO,
    .encoder_only = 0,
    .fold_norm_scales = 0,
    .f16_headroom = 0,
    .calibration_texts = NULL,
    .num_calibration_texts = 0,
    .source = NULL,
};

/* the smallest struct a caller may pass: struct_size and the first field */
#define CONVERT_OPTIONS_MIN (offsetof(nt5_convert_options, format) + sizeof(int32_t))

nt5_status nt5_convert_options_init(nt5_convert_options *opts, uint32_t struct_size) {
    return opts_init(opts, struct_size, &convert_defaults, CONVERT_OPTIONS_MIN, sizeof *opts, "nt5_convert_options");
}

static nt5_status check_convert_options(const nt5_convert_options *o) {
    if (o->format != NT5_FORMAT_NT5 && o->format != NT5_FORMAT_HF)
        return err_set(NT5_ERR_INVALID_ARG, "format %d is not NT5_FORMAT_NT5 or NT5_FORMAT_HF", o->format);
    if (o->dtype != NT5_DTYPE_AUTO && o->dtype != NT5_DTYPE_F32 && o->dtype != NT5_DTYPE_BF16 &&
        o->dtype != NT5_DTYPE_F16 && !block_type_of(o->dtype))
        return err_set(NT5_ERR_INVALID_ARG, "dtype %d is not NT5_DTYPE_AUTO, F32, BF16, F16, Q8_0, Q6_K, Q5_K or Q4_K",
                       o->dtype);
    if (block_type_of(o->dtype) && o->format == NT5_FORMAT_HF)
        return err_set(NT5_ERR_UNSUPPORTED, "the HF layout holds no %s blocks: write the nt5 format, or f32 or bf16",
                       block_type_of(o->dtype)->name);
    if (o->dtype == NT5_DTYPE_F16 && o->format == NT5_FORMAT_HF)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "f16 weights need their scales, which only the nt5 format keeps; "
                       "write the HF layout in f32 or bf16");
    if (!(o->f16_headroom >= 0 && o->f16_headroom <= 65504))
        return err_set(NT5_ERR_INVALID_ARG, "f16_headroom must be in [0, 65504] (0: the default)");
    if (o->calibration_texts && o->num_calibration_texts == 0)
        return err_set(NT5_ERR_INVALID_ARG, "calibration_texts is set but num_calibration_texts is 0");
    return NT5_OK;
}

/* FNV-1a over the calibration texts, NUL-separated */
static uint64_t texts_hash(const char *const *texts, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        for (const char *p = texts[i] ? texts[i] : "";; p++) {
            h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
            if (!*p) break;
        }
    return h;
}

/* The cached file's name: what the options change in its contents. */
static void cache_name(const nt5_convert_options *o, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s%s%s", dtype_name(o->dtype), o->encoder_only ? "-encoder" : "",
                     o->fold_norm_scales ? "-folded" : "");
    if (o->dtype == NT5_DTYPE_F16) {
        char texts[24] = "default";
        if (o->calibration_texts)
            snprintf(texts, sizeof texts, "%016llx",
                     (unsigned long long)texts_hash(o->calibration_texts, o->num_calibration_texts));
        n += snprintf(out + n, cap - (size_t)n, "-h%g-c%s",
                      o->f16_headroom > 0 ? o->f16_headroom : NT5_FILE_DEFAULT_HEADROOM, texts);
    }
    snprintf(out + n, cap - (size_t)n, ".nt5");
}

static nt5_status write_converted(nt5_model *m, const nt5_convert_options *o, const nt5_model_options *src,
                                  const char *dst) {
    if (o->format == NT5_FORMAT_HF) return hf_layout_save(m, dst, src->on_progress, src->progress_user_data);
    nt5file_layout lay = {.dtype = o->dtype,
                          .headroom = o->f16_headroom,
                          .progress = src->on_progress,
                          .user_data = src->progress_user_data};
    float *absmax = NULL;
    if (o->dtype == NT5_DTYPE_F16) {
        const char *const *texts = o->calibration_texts ? o->calibration_texts : calibration_default_texts;
        size_t n = o->calibration_texts ? o->num_calibration_texts : calibration_default_count;
        nt5_status st = calibrate(m, texts, n, src->on_progress, src->progress_user_data, &absmax);
        if (st != NT5_OK) return st;
        lay.input_absmax = absmax;
    }
    nt5_status st = nt5file_write(m, dst, &lay);
    free(absmax);
    return st;
}

/* How the source opens: the caller's hub fields and threads, on the CPU. */
static nt5_status source_options(const nt5_convert_options *o, nt5_model_options *mo, char *tokenizer_dir, size_t cap) {
    nt5_status st = api_model_options(o->source, mo);
    if (st == NT5_OK) st = api_tokenizer_option(mo, tokenizer_dir, cap);
    mo->device = "cpu";
    mo->encoder_only = o->encoder_only;
    /* f16 is written from an f32 model; the others load as they are written */
    mo->weight_dtype = o->dtype == NT5_DTYPE_F16 ? NT5_DTYPE_F32 : o->dtype;
    return st;
}

/* The source model: a fetched snapshot, a Hub reference or a local path. */
static nt5_status open_source(const char *src, const hub_snapshot *snap, const nt5_model_options *mo,
                              const load_transforms *tf, nt5_model **m) {
    if (snap) return api_open_snapshot(src, snap, mo, tf, m);
    if (hub_looks_like_ref(src)) return api_open_id(src, mo, tf, m);
    return model_open_path(src, mo, tf, m);
}

/* src (its fetched snapshot when given) converted into dst */
static nt5_status convert_run(const char *src, const hub_snapshot *snap, const char *dst,
                              const nt5_convert_options *o) {
    nt5_model_options mo;
    char tokenizer_dir[4096];
    nt5_status st = source_options(o, &mo, tokenizer_dir, sizeof tokenizer_dir);
    if (st != NT5_OK) return st;
    load_transforms tf = {.fold_norms = o->fold_norm_scales};
    nt5_model *m = NULL;
    st = open_source(src, snap, &mo, &tf, &m);
    if (st == NT5_OK && o->dtype == NT5_DTYPE_AUTO && o->format == NT5_FORMAT_HF && block_type_of(m->w.matrix_dtype)) {
        /* the HF layout holds no blocks: a quantized source is written in f32 */
        model_free(m);
        m = NULL;
        mo.weight_dtype = NT5_DTYPE_F32;
        st = open_source(src, snap, &mo, &tf, &m);
    }
    if (st == NT5_OK) st = write_converted(m, o, &mo, dst);
    model_free(m);
    return st;
}

/* Hub model src converted as o says into the Hub cache, once per commit
 * and options (cache_name); its path into cached[cap]. */
static nt5_status convert_into_cache(const char *src, const nt5_convert_options *o, char *cached, size_t cap) {
    nt5_model_options mo;
    char tokenizer_dir[4096];
    nt5_status st = source_options(o, &mo, tokenizer_dir, sizeof tokenizer_dir);
    char name[96];
    cache_name(o, name, sizeof name);
    hub_snapshot snap;
    if (st == NT5_OK) st = api_converted_path(src, &mo, name, cached, cap, &snap);
    if (st == NT5_OK && access(cached, F_OK) != 0) st = convert_run(src, &snap, cached, o);
    return st;
}

/* The written path for the caller, when a buffer was given. */
static nt5_status give_path(const char *written, char *path, size_t capacity, size_t *length) {
    if (path) return text_out(written, path, capacity, length);
    if (length) *length = strlen(written);
    return NT5_OK;
}

nt5_status nt5_convert(const char *src, const char *dst, const nt5_convert_options *opts, char *path, size_t capacity,
                       size_t *length) {
    nt5_convert_options o = convert_defaults;
    if (!src || !src[0]) return err_set(NT5_ERR_INVALID_ARG, "src is NULL or empty");
    if (dst && !dst[0]) return err_set(NT5_ERR_INVALID_ARG, "dst is empty");
    if (!path && capacity) return err_set(NT5_ERR_INVALID_ARG, "path is NULL but capacity is %zu", capacity);
    nt5_status st = opts_overlay(&o, sizeof o, opts, CONVERT_OPTIONS_MIN, "nt5_convert_options");
    if (st == NT5_OK) st = check_convert_options(&o);
    if (st != NT5_OK) return st;
    if (dst) {
        if (path && strlen(dst) + 1 > capacity) {
            if (length) *length = strlen(dst);
            return err_set(NT5_ERR_BUFFER_TOO_SMALL, "the path needs %zu bytes", strlen(dst) + 1);
        }
        st = convert_run(src, NULL, dst, &o);
        return st == NT5_OK ? give_path(dst, path, capacity, length) : st;
    }
    if (o.format != NT5_FORMAT_NT5 || !hub_looks_like_ref(src))
        return err_set(NT5_ERR_INVALID_ARG,
                       "dst is NULL, which keeps an nt5 file in nt5's cache: src must be a "
                       "Hub model id and the format NT5_FORMAT_NT5");
    char cached[4096];
    st = convert_into_cache(src, &o, cached, sizeof cached);
    return st == NT5_OK ? give_path(cached, path, capacity, length) : st;
}

nt5_status api_open_id_f16(const char *id, const nt5_model_options *o, nt5_model **out) {
    int gpu = 0;
    nt5_status st = model_backend_probe(o, &gpu);
    if (st != NT5_OK) return st;
    if (!gpu)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "weight_dtype f16 runs on a GPU, and this model would run on the CPU: use "
                       "auto or f32");
    nt5_convert_options co = convert_defaults;
    co.dtype = NT5_DTYPE_F16;
    co.encoder_only = o->encoder_only;
    co.source = o;
    char path[4096];
    st = convert_into_cache(id, &co, path, sizeof path);
    return st == NT5_OK ? model_open_path(path, o, NULL, out) : st;
}
