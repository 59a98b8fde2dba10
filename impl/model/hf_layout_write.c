#include "model/hf_layout_write.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file_mode.h"
#include "base/version.h"
#include "format/weight_names.h"
#include "quant/block_type.h"

/* One tensor of the HF state dict: a slice of rows of an nt5 tensor. */
typedef struct hf_entry {
    char name[HF_NAME_MAX];
    const weight_tensor *src;
    int64_t row0, rows;
} hf_entry;

static int by_name(const void *a, const void *b) {
    return strcmp(((const hf_entry *)a)->name, ((const hf_entry *)b)->name);
}

static size_t entry_bytes(const hf_entry *e) {
    return (size_t)e->rows * (size_t)(e->src->cols ? e->src->cols : 1) * (e->src->dtype == NT5_DTYPE_BF16 ? 2 : 4);
}

/* The state dict's tensors, sorted by name as save_pretrained writes them. */
static nt5_status list_entries(const nt5_model *m, hf_entry **out, size_t *n) {
    hf_entry *e = calloc(m->w.n_tensors * HF_PARTS_MAX + 1, sizeof *e);
    if (!e) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < m->w.n_tensors; i++) {
        const weight_tensor *t = &m->w.tensors[i];
        char parts[HF_PARTS_MAX][HF_NAME_MAX];
        int np = hf_parts(m->cfg.gated, t->name, parts);
        if (np == 0) {
            free(e);
            return err_set(NT5_ERR_INTERNAL, "no Hugging Face name for %s", t->name);
        }
        for (int p = 0; p < np; p++, k++) {
            memcpy(e[k].name, parts[p], sizeof e[k].name); /* both HF_NAME_MAX, NUL-terminated */
            e[k].src = t;
            e[k].rows = t->rows / np;
            e[k].row0 = p * e[k].rows;
        }
    }
    qsort(e, k, sizeof *e, by_name);
    *out = e;
    *n = k;
    return NT5_OK;
}

/* model.safetensors at path; progress (may be NULL) hears "writing <dir>" per tensor, and a nonzero return cancels. */
static nt5_status write_weights(const nt5_model *m, const char *path, const char *dir, nt5_progress_callback progress,
                                void *user_data) {
    hf_entry *e = NULL;
    size_t n = 0;
    nt5_status st = list_entries(m, &e, &n);
    if (st != NT5_OK) return st;
    cJSON *header = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(header, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(header, e[i].name);
        cJSON_AddStringToObject(t, "dtype", e[i].src->dtype == NT5_DTYPE_BF16 ? "BF16" : "F32");
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e[i].rows));
        if (e[i].src->cols) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e[i].src->cols));
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(at + entry_bytes(&e[i]))));
        at += entry_bytes(&e[i]);
    }
    char *text = cJSON_PrintUnformatted(header);
    cJSON_Delete(header);
    FILE *f = text ? fopen(path, "wb") : NULL;
    int ok = f != NULL, cancelled = 0;
    nt5_status failed = NT5_OK; /* a weight that could not be read back (its message set) */
    char what[4200];
    snprintf(what, sizeof what, "writing %.4000s", dir);
    if (ok) {
        size_t len = strlen(text), padded = (len + 7) / 8 * 8;
        unsigned char len8[8];
        for (int b = 0; b < 8; b++) len8[b] = (unsigned char)((uint64_t)padded >> (8 * b));
        ok = fwrite(len8, 1, 8, f) == 8 && fwrite(text, 1, len, f) == len;
        for (size_t p = len; ok && p < padded; p++) ok = fputc(' ', f) != EOF;
        for (size_t i = 0; ok && i < n; i++) {
            size_t bytes = entry_bytes(&e[i]), row_bytes = bytes / (size_t)(e[i].rows ? e[i].rows : 1);
            void *host = malloc(bytes ? bytes : 1);
            failed = host ? m->be->ops->read_weight(m->be, host,
                                                    (const char *)e[i].src->data + (size_t)e[i].row0 * row_bytes, bytes)
                          : err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory reading %s", e[i].name);
            ok = failed == NT5_OK && fwrite(host, 1, bytes, f) == bytes;
            free(host);
            cancelled = ok && progress && progress(what, (uint64_t)i + 1, (uint64_t)n, user_data);
            ok = ok && !cancelled;
        }
        ok = fclose(f) == 0 && ok;
    }
    free(text);
    free(e);
    if (failed != NT5_OK) return failed;
    if (cancelled) return err_set(NT5_ERR_CANCELLED, "writing %s was cancelled", dir);
    return ok ? NT5_OK : err_set(NT5_ERR_IO, "cannot write %s: %s", path, strerror(errno));
}

static nt5_status write_json(const char *path, cJSON *o) {
    char *text = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    FILE *f = text ? fopen(path, "wb") : NULL;
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f) ok = fclose(f) == 0 && ok;
    free(text);
    return ok ? NT5_OK : err_set(NT5_ERR_IO, "cannot write %s", path);
}

static nt5_status write_config(const nt5_model *m, const char *path) {
    static const char *const classes[] = {"", "T5ForConditionalGeneration", "MT5ForConditionalGeneration",
                                          "UMT5ForConditionalGeneration"};
    cJSON *o = config_to_json(&m->cfg);
    cJSON *arch = cJSON_CreateArray();
    cJSON_AddItemToArray(arch, cJSON_CreateString(m->has_decoder ? classes[m->cfg.model_type] : "T5EncoderModel"));
    cJSON_AddItemToObject(o, "architectures", arch);
    cJSON_AddBoolToObject(o, "is_encoder_decoder", m->has_decoder);
    cJSON_AddBoolToObject(o, "is_gated_act", m->cfg.gated);
    cJSON_AddStringToObject(o, "torch_dtype", m->w.shared.dtype == NT5_DTYPE_BF16 ? "bfloat16" : "float32");
    return write_json(path, o);
}

static nt5_status write_tokenizer(const nt5_model *m, const char *dir) {
    if (!m->tok) return NT5_OK;
    char path[4200];
    size_t len;
    const void *spiece = tok_spiece_bytes(m->tok, &len);
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(spiece, 1, len, f) == len;
    if (f) ok = fclose(f) == 0 && ok;
    if (!ok) return err_set(NT5_ERR_IO, "cannot write %s", path);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tokenizer_class", "T5Tokenizer");
    cJSON_AddNumberToObject(o, "extra_ids", tok_extra_ids(m->tok));
    cJSON_AddNumberToObject(o, "model_max_length", m->max_input_length);
    cJSON_AddBoolToObject(o, "legacy", 1);
    cJSON_AddStringToObject(o, "eos_token", "</s>");
    cJSON_AddStringToObject(o, "pad_token", "<pad>");
    cJSON_AddStringToObject(o, "unk_token", "<unk>");
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    return write_json(path, o);
}

static nt5_status write_card(const nt5_model *m, const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *f = fopen(path, "w");
    if (!f) return err_set(NT5_ERR_IO, "cannot write %s", path);
    fprintf(f,
            "---\nlibrary_name: transformers\n---\n\n# %s model in safetensors\n\n"
            "Written by nt5 %s from a checkpoint it opened: the same weights under the state-dict names "
            "`save_pretrained` uses (%s), with config.json and the T5 tokenizer files.\n",
            config_model_type_name(m->cfg.model_type), NT5_VERSION_STRING,
            m->w.shared.dtype == NT5_DTYPE_BF16 ? "bfloat16" : "float32");
    return fclose(f) == 0 ? NT5_OK : err_set(NT5_ERR_IO, "cannot write %s", path);
}

nt5_status hf_layout_save(const nt5_model *m, const char *dir, nt5_progress_callback progress, void *user_data) {
    const block_type *bt = block_type_of(m->w.matrix_dtype);
    if (bt)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "a model opened with %s weights has no Hugging Face layout: open its source with "
                       "weight dtype f32 or bf16",
                       bt->name);
    if (m->w.shared.dtype == NT5_DTYPE_F16)
        return err_set(NT5_ERR_UNSUPPORTED,
                       "a model opened with f16 weights has no Hugging Face layout: convert its "
                       "source");
    if (access(dir, F_OK) == 0) return err_set(NT5_ERR_INVALID_ARG, "%s already exists; give a new directory", dir);
    char tmp[4096], path[4200];
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.XXXXXX", dir);
    if (!mkdtemp(tmp)) return err_set(NT5_ERR_IO, "cannot create a directory beside %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    nt5_status st = write_weights(m, path, dir, progress, user_data);
    snprintf(path, sizeof path, "%s/config.json", tmp);
    if (st == NT5_OK) st = write_config(m, path);
    if (st == NT5_OK) st = write_tokenizer(m, tmp);
    if (st == NT5_OK) st = write_card(m, tmp);
    if (st == NT5_OK) chmod(tmp, file_mode_for(0777));
    if (st == NT5_OK && rename(tmp, dir) != 0)
        st = err_set(NT5_ERR_IO, "cannot create %s (written beside it, then renamed): %s", dir, strerror(errno));
    if (st != NT5_OK) {
        static const char *const files[] = {"model.safetensors", "config.json", "spiece.model", "tokenizer_config.json",
                                            "README.md"};
        for (size_t i = 0; i < 5; i++) {
            snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
            unlink(path);
        }
        rmdir(tmp);
    }
    return st;
}
