#include "model/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda_loader.h"
#include "base/error.h"
#include "quant/block_type.h"
#include "base/regular_file.h"
#include "base/json_file.h"
#include "format/checkpoint.h"
#include "format/nt5_format.h"
#include "model/checkpoint_source.h"
#include "model/nt5_file_read.h"
#include "model/gguf_header.h"
#include "model/gguf_source.h"
#include "model/random_source.h"
#include "model/single_file.h"
#include "model/weight_fold.h"

/* "auto", "cpu", "cuda", "cuda:N" -> a backend. auto takes GPU 0 when the
 * machine has a driver and the CUDA backend starts, else the CPU. */
static nt5_status make_backend(const nt5_model_options *opts, backend **out) {
    const char *dev = opts->device ? opts->device : "auto";
    if (strcmp(dev, "cpu") == 0) return cpu_backend_create(opts->num_threads, out);
    if (strcmp(dev, "auto") == 0) {
        if (cuda_driver_present() && cuda_backend_create(0, opts->allow_tf32 != 0, out) == NT5_OK) return NT5_OK;
        return cpu_backend_create(opts->num_threads, out);
    }
    char *end = NULL;
    long n = strncmp(dev, "cuda:", 5) == 0 ? strtol(dev + 5, &end, 10) : 0;
    if (strcmp(dev, "cuda") == 0 || (end && end != dev + 5 && !*end && n >= 0 && n < 1024)) {
        nt5_status st = cuda_backend_create((int)n, opts->allow_tf32 != 0, out);
        return st == NT5_OK ? st : err_wrap(st, "device \"%s\"", dev);
    }
    return err_set(NT5_ERR_INVALID_ARG, "device \"%s\" is not one of auto, cpu, cuda, cuda:N", dev);
}

nt5_status model_backend_probe(const nt5_model_options *opts, int *gpu) {
    backend *be = NULL;
    nt5_status st = make_backend(opts, &be);
    if (st != NT5_OK) return st;
    *gpu = be->ops->computes_in_weight_dtype;
    be->ops->destroy(be);
    return NT5_OK;
}

void model_free(nt5_model *m) {
    if (!m) return;
    if (m->be) {
        weights_free(&m->w, m->be);
        m->be->ops->destroy(m->be);
    }
    tok_free(m->tok);
    free(m->source);
    free(m);
}

/* Common tail of opening: checks, backend, weights from `src` (folded when tf says so). */
static nt5_status finish_open(nt5_model *m, const nt5_model_options *opts, const load_transforms *tf,
                              const weight_source *src) {
    if (opts->tokenizer) {
        tokenizer *tok = NULL;
        nt5_status st = tok_open_path(opts->tokenizer, m->cfg.vocab_size, &tok);
        if (st != NT5_OK) return st;
        tok_free(m->tok);
        m->tok = tok;
        m->max_input_length = tok_max_length(tok);
        snprintf(m->tokenizer_from, sizeof m->tokenizer_from, "%s", opts->tokenizer);
    }
    src->describe(src->self, m->stored, sizeof m->stored);
    if (m->tok && tok_size(m->tok) > m->cfg.vocab_size)
        return err_set(NT5_ERR_FORMAT, "the tokenizer has %d tokens but the model's vocab_size is %d", tok_size(m->tok),
                       m->cfg.vocab_size);
    if (opts->num_threads < 0) return err_set(NT5_ERR_INVALID_ARG, "num_threads must be >= 0");
    int32_t dtype = opts->weight_dtype;
    if (dtype != NT5_DTYPE_AUTO && dtype != NT5_DTYPE_F32 && dtype != NT5_DTYPE_BF16 && dtype != NT5_DTYPE_F16 &&
        !block_type_of(dtype))
        return err_set(NT5_ERR_INVALID_ARG, "weight_dtype %d is not an NT5_DTYPE_*", dtype);
    m->has_decoder = !opts->encoder_only && m->cfg.num_decoder_layers > 0 && src->has(src->self, "dec.final_ln");
    m->no_decoder = opts->encoder_only               ? "it was opened encoder-only"
                    : m->cfg.num_decoder_layers == 0 ? "its config has num_decoder_layers 0: an encoder model"
                                                     : "its checkpoint has no decoder weights";
    nt5_status st = make_backend(opts, &m->be);
    if (st != NT5_OK) return st;
    /* a GPU's f16 products need the calibrated input scales of an f16 nt5 file (the CPU's are fp32) */
    int gpu = m->be->ops->computes_in_weight_dtype, calibrated = src->input_exp(src->self, "enc.0.qkv") >= 0;
    int32_t stored = src->stored_dtype(src->self);
    /* auto: bf16 checkpoints stay bf16, quantized ones in their blocks; on
     * the CPU others are f32, on a GPU calibrated f16 files stay f16 and
     * others become bf16 */
    if (dtype == NT5_DTYPE_AUTO)
        dtype = gpu ? (stored == NT5_DTYPE_F16 && calibrated ? NT5_DTYPE_F16 : NT5_DTYPE_BF16)
                    : (stored == NT5_DTYPE_BF16 || block_type_of(stored) ? stored : NT5_DTYPE_F32);
    /* no GPU kernels for blocks yet */
    if (block_type_of(dtype) && gpu) dtype = NT5_DTYPE_BF16;
    if (dtype == NT5_DTYPE_F16 && gpu && !calibrated)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "weight_dtype f16 runs on a GPU from an f16 nt5 file with calibrated "
                       "scales (nt5 convert --dtype f16); this source has none");
    fold_state fold = {src, &m->cfg};
    weight_source folded = folding_source(&fold);
    int fold_now = tf && tf->fold_norms && !m->norms_folded;
    if (fold_now) m->norms_folded = 1;
    st = weights_load(&m->cfg, m->has_decoder, dtype, fold_now ? &folded : src, m->be, &m->w);
    if (st == NT5_OK && m->w.non_finite && opts->refuse_non_finite_weights)
        return err_set(NT5_ERR_FORMAT, "%zu weights are NaN or infinite, the first in %s (refuse_non_finite_weights)",
                       m->w.non_finite, m->w.first_non_finite);
    return st;
}

/* Names the model in an error once: "loading PATH: ..." unless the message already has it. */
static nt5_status name_model(nt5_status st, const char *path) {
    return strstr(err_message(), path) ? st : err_wrap(st, "loading %s", path);
}

/* The end of opening a model whose config and tokenizer were read into m
 * (status st): its weights from src (the default max input length when the
 * header set none); m goes to *out, or is freed on an error. */
static nt5_status load_weights(nt5_model *m, nt5_status st, const char *path, const nt5_model_options *opts,
                               const load_transforms *tf, const weight_source *src, nt5_model **out) {
    if (st == NT5_OK) {
        if (!m->max_input_length) m->max_input_length = m->tok ? tok_max_length(m->tok) : 512;
        st = finish_open(m, opts, tf, src);
        if (st != NT5_OK) name_model(st, path);
    }
    if (st != NT5_OK) {
        model_free(m);
        return st;
    }
    *out = m;
    return NT5_OK;
}

/* An nt5 file (f is closed here). */
static nt5_status open_nt5_file(const char *path, st_file *f, const nt5_model_options *opts, const load_transforms *tf,
                                nt5_model **out) {
    nt5_model *m = calloc(1, sizeof *m);
    if (!m) {
        st_close(f);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    nt5file_source_state state = {f, NULL, NULL};
    nt5file_header h = {0};
    nt5_status st = nt5file_read_header(f, &h);
    m->cfg = h.cfg;
    m->tok = h.tok;
    m->max_input_length = h.max_input_length;
    m->norms_folded = h.norms_folded;
    m->source = h.source;
    snprintf(m->format, sizeof m->format, "nt5 file");
    snprintf(m->tokenizer_from, sizeof m->tokenizer_from, "the nt5 file");
    if (st == NT5_OK) st = nt5file_source_open(&state);
    weight_source src = nt5file_source(&state);
    st = load_weights(m, st, path, opts, tf, &src, out);
    nt5file_source_close(&state);
    st_close(f);
    return st;
}

/* A single checkpoint file (single_file.h; f is closed here). */
static nt5_status open_single_file(const char *path, st_file *f, const nt5_model_options *opts,
                                   const load_transforms *tf, nt5_model **out) {
    checkpoint ck;
    nt5_status st = ckpt_adopt_file(f, &ck);
    if (st != NT5_OK) return st;
    nt5_model *m = calloc(1, sizeof *m);
    st = m ? single_file_read_header(&ck, path, opts->config, &m->cfg, &m->tok)
           : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (m) {
        snprintf(m->format, sizeof m->format, "single safetensors file%s%s%s",
                 ck.prefix[0] ? ", T5 tensors under \"" : "", ck.prefix, ck.prefix[0] ? "\"" : "");
        snprintf(m->tokenizer_from, sizeof m->tokenizer_from, "its spiece_model tensor");
    }
    checkpoint_source_state state = {.ck = &ck, .cfg = m ? &m->cfg : NULL};
    weight_source src = checkpoint_source(&state);
    if (m) st = load_weights(m, st, path, opts, tf, &src, out);
    ckpt_close(&ck);
    return st;
}

/* A GGUF file (gguf_header.h, gguf_source.h). */
static nt5_status open_gguf_file(const char *path, const nt5_model_options *opts, const load_transforms *tf,
                                 nt5_model **out) {
    gguf_file *g = NULL;
    nt5_status st = gguf_open(path, &g);
    if (st != NT5_OK) return st;
    nt5_model *m = calloc(1, sizeof *m);
    st = m ? gguf_read_header(g, path, opts->config, &m->cfg, &m->tok)
           : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (m) {
        snprintf(m->format, sizeof m->format, "GGUF version %u", gguf_version(g));
        snprintf(m->tokenizer_from, sizeof m->tokenizer_from, "the GGUF metadata");
    }
    gguf_source_state state = {.file = g, .cfg = m ? &m->cfg : NULL};
    weight_source src = gguf_source(&state);
    if (m) st = load_weights(m, st, path, opts, tf, &src, out);
    gguf_close(g);
    return st;
}

/* Whether the file at path begins with GGUF's magic. */
static int is_gguf(const char *path) {
    int fd;
    uint64_t size;
    char magic[4] = "";
    if (regular_file_open(path, &fd, &size) != NT5_OK) return 0;
    ssize_t n = size >= 4 ? read(fd, magic, sizeof magic) : 0;
    close(fd);
    return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

/* An nt5 file, a single safetensors checkpoint or a GGUF file. */
static nt5_status open_file(const char *path, const nt5_model_options *opts, const load_transforms *tf,
                            nt5_model **out) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (strcmp(base, "config.json") == 0 || strcmp(base, "spiece.model") == 0 ||
        strcmp(base, "model.safetensors.index.json") == 0)
        return err_set(NT5_ERR_INVALID_ARG, "%s is one file of a model: give the model's directory", path);
    if (is_gguf(path)) return open_gguf_file(path, opts, tf, out);
    st_file *f = NULL;
    nt5_status st = st_open(path, &f);
    if (st != NT5_OK) return st;
    return nt5file_is(f) ? open_nt5_file(path, f, opts, tf, out) : open_single_file(path, f, opts, tf, out);
}

static nt5_status open_dir(const char *dir, const nt5_model_options *opts, const load_transforms *tf, nt5_model **out) {
    nt5_model *m = calloc(1, sizeof *m);
    if (!m) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    char path[4096];
    if (opts->config) snprintf(path, sizeof path, "%s", opts->config);
    else snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *root = NULL;
    checkpoint ck = {0};
    nt5_status st = json_read_file(path, &root);
    if (st == NT5_OK) st = config_from_json(root, path, &m->cfg);
    cJSON_Delete(root);
    if (st == NT5_OK) {
        st = tok_open(dir, &m->tok);
        if (st == NT5_ERR_NOT_FOUND) st = NT5_OK; /* a model without tokenizer takes ids */
    }
    snprintf(m->format, sizeof m->format, "Hugging Face directory");
    snprintf(m->tokenizer_from, sizeof m->tokenizer_from, "%s/spiece.model", dir);
    if (st == NT5_OK) st = ckpt_open_dir(dir, opts->encoder_only, &ck);
    checkpoint_source_state state = {.ck = &ck, .cfg = &m->cfg};
    weight_source src = checkpoint_source(&state);
    st = load_weights(m, st, dir, opts, tf, &src, out);
    ckpt_close(&ck);
    return st;
}

nt5_status model_open_path(const char *path, const nt5_model_options *opts, const load_transforms *tf,
                           nt5_model **out) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return err_set(errno == ENOENT ? NT5_ERR_NOT_FOUND : NT5_ERR_IO,
                       "cannot open model \"%s\": %s (give a directory with config.json and "
                       "model.safetensors, a .safetensors or .gguf checkpoint file, or an nt5 file)",
                       path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return open_dir(path, opts, tf, out);
    if (S_ISREG(sb.st_mode)) return open_file(path, opts, tf, out);
    return err_set(NT5_ERR_INVALID_ARG, "\"%s\" is neither a directory nor a file", path);
}

nt5_status model_open_random(const char *config_json, uint64_t seed, const nt5_model_options *opts, nt5_model **out) {
    nt5_model *m = calloc(1, sizeof *m);
    if (!m) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    cJSON *root = NULL;
    nt5_status st = json_parse_object(config_json, strlen(config_json), "config", &root);
    if (st == NT5_OK) st = config_from_json(root, "config", &m->cfg);
    cJSON_Delete(root);
    m->max_input_length = 512;
    snprintf(m->format, sizeof m->format, "random weights");
    random_source_state rs = {seed, (int64_t)m->cfg.num_heads * m->cfg.d_kv, m->cfg.d_kv};
    weight_source src = random_source(&rs);
    if (st == NT5_OK) st = finish_open(m, opts, NULL, &src);
    if (st != NT5_OK) {
        model_free(m);
        return st;
    }
    *out = m;
    return NT5_OK;
}
