/* Checkpoints stored in F16 or BF16 (rewritten here from the F32 fixture)
 * open and encode close to the F32 original; with weight_dtype auto a BF16
 * checkpoint stays in bf16 and an F16 one is widened to f32. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "half.h"
#include "harness.h"
#include "safetensors.h"

static char tmp_root[1024];

/* Writes dir/model.safetensors with every F32 tensor of `src` as `dtype`. */
static void write_converted(const st_file *src, const char *dir, int dtype) {
    cJSON *header = cJSON_CreateObject();
    size_t at = 0;
    for (size_t i = 0; i < src->count; i++) {
        const st_tensor *t = &src->tensors[i];
        size_t n = t->nbytes / 4, bytes = n * 2;
        cJSON *e = cJSON_AddObjectToObject(header, t->name);
        cJSON_AddStringToObject(e, "dtype", dtype == NT5_DTYPE_F16 ? "F16" : "BF16");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(at + bytes)));
        at += bytes;
    }
    char *text = cJSON_PrintUnformatted(header);
    size_t hl = strlen(text), padded = (hl + 7) / 8 * 8;
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    uint64_t len = padded;
    fwrite(&len, 8, 1, f);
    fwrite(text, 1, hl, f);
    for (size_t i = hl; i < padded; i++) fputc(' ', f);
    for (size_t i = 0; i < src->count; i++) {
        const st_tensor *t = &src->tensors[i];
        size_t n = t->nbytes / 4;
        float *vals = malloc(t->nbytes);
        uint16_t *half = malloc(n * 2);
        memcpy(vals, t->data, t->nbytes);
        half_from_f32(half, vals, n, dtype);
        fwrite(half, 2, n, f);
        free(vals);
        free(half);
    }
    fclose(f);
    free(text);
    cJSON_Delete(header);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char a[2048], b[2048];
    size_t len;
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    char *data = read_file(a, &len);
    FILE *f = data ? fopen(b, "wb") : NULL;
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    free(data);
}

static nt5_embeddings *encode_with(const char *dir, int32_t weight_dtype, int32_t *stored) {
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.weight_dtype = weight_dtype;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(dir, &o, &m), NT5_OK);
    const char *texts[] = {"Hello world!", "translate English to German: The house is wonderful."};
    nt5_embeddings *e = NULL;
    if (m) CHECK_STATUS(nt5_encode_texts(m, texts, 2, NULL, &e), NT5_OK);
    nt5_model_info info = {.struct_size = sizeof info};
    if (m && stored) nt5_model_get_info(m, &info), *stored = info.weight_dtype;
    nt5_model_free(m);
    return e;
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/nt5-dtypes-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) return 1;
    const char *model = data_path("t5-v1_1-tiny");
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", model);
    st_file *src = NULL;
    CHECK_STATUS(st_open(path, &src), NT5_OK);
    nt5_embeddings *ref = encode_with(model, NT5_DTYPE_F32, NULL);
    nt5_embeddings *bf16_of_f32 = encode_with(model, NT5_DTYPE_BF16, NULL);
    static const int dtypes[] = {NT5_DTYPE_F16, NT5_DTYPE_BF16};
    for (int i = 0; src && ref && i < 2; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%s", tmp_root, dtypes[i] == NT5_DTYPE_F16 ? "f16" : "bf16");
        mkdir(dir, 0700);
        write_converted(src, dir, dtypes[i]);
        static const char *const files[] = {"config.json", "spiece.model", "tokenizer_config.json"};
        for (int k = 0; k < 3; k++) copy_file(model, dir, files[k]);
        int32_t stored = -1;
        nt5_embeddings *e = encode_with(dir, NT5_DTYPE_AUTO, &stored);
        if (!e) continue;
        size_t b, s, d;
        nt5_embeddings_shape(e, &b, &s, &d);
        double err = rel_l2(nt5_embeddings_data(e), nt5_embeddings_data(ref), b * s * d);
        CHECK(err > 0 && err < (dtypes[i] == NT5_DTYPE_F16 ? 2e-3 : 1e-2), "%s checkpoint: relative L2 %.3g",
              dtypes[i] == NT5_DTYPE_F16 ? "F16" : "BF16", err);
        printf("%s checkpoint: relative L2 %.2e against F32\n", dtypes[i] == NT5_DTYPE_F16 ? "F16" : "BF16", err);
        if (dtypes[i] == NT5_DTYPE_BF16) {
            CHECK(stored == NT5_DTYPE_BF16, "auto keeps a BF16 checkpoint in bf16 (%d)", stored);
            /* not bit-equal: the BF16 file's norm scales and bias tables are rounded too */
            double to_bf16 = rel_l2(nt5_embeddings_data(e), nt5_embeddings_data(bf16_of_f32), b * s * d);
            CHECK(bf16_of_f32 && to_bf16 < 1e-2, "BF16 checkpoint vs F32 loaded as bf16: %.3g", to_bf16);
        } else {
            CHECK(stored == NT5_DTYPE_F32, "auto stores an F16 checkpoint in f32 (%d)", stored);
        }
        nt5_embeddings_free(e);
    }
    nt5_embeddings_free(ref);
    nt5_embeddings_free(bf16_of_f32);
    st_close(src);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return harness_finish("weight-dtypes");
}
