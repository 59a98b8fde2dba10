/* nt5 files: every fixture model saved with nt5_model_save() and opened
 * again gives bit-identical hidden states and the same generations; bf16
 * and encoder-only files; a failed save leaves nothing behind; foreign or
 * newer files are refused clearly. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char tmp_dir[1024];

static const char *const prompts[] = {
    "Hello world!",
    "The <extra_id_0> walks in the park",
    "translate English to German: The house is wonderful.",
};

static nt5_embeddings *encode(nt5_model *m) {
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_texts(m, prompts, 3, NULL, &e), NT5_OK);
    return e;
}

static nt5_generation *generate(nt5_model *m, int beams) {
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 12;
    o.num_beams = beams;
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 3, &o, &g), NT5_OK);
    return g;
}

static int same_generation(const nt5_generation *a, const nt5_generation *b) {
    if (!a || !b || nt5_generation_count(a) != nt5_generation_count(b)) return 0;
    for (size_t i = 0; i < nt5_generation_count(a); i++) {
        const int32_t *x, *y;
        size_t n, k;
        const char *s, *t;
        nt5_generation_get(a, i, &x, &n, &s, NULL);
        nt5_generation_get(b, i, &y, &k, &t, NULL);
        if (n != k || memcmp(x, y, n * sizeof *x) || strcmp(s, t)) return 0;
    }
    return 1;
}

static nt5_model *open_with(const char *path, int32_t weight_dtype, int encoder_only) {
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.device = "cpu";
    o.weight_dtype = weight_dtype;
    o.encoder_only = encoder_only;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(path, &o, &m), NT5_OK);
    return m;
}

/* Saves `name` (opened with weight_dtype) and checks the file against it. */
static void round_trip(const char *name, int32_t weight_dtype) {
    char file[2048];
    snprintf(file, sizeof file, "%s/%s-%d.nt5", tmp_dir, name, weight_dtype);
    nt5_model *a = open_with(data_path(name), weight_dtype, 0);
    if (!a) return;
    CHECK_STATUS(nt5_model_save(a, file), NT5_OK);
    nt5_model *b = open_with(file, weight_dtype, 0);
    if (b) {
        nt5_model_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
        nt5_model_get_info(a, &ia);
        nt5_model_get_info(b, &ib);
        CHECK(ia.model_type == ib.model_type && ia.d_ff == ib.d_ff && ia.tokenizer_size == ib.tokenizer_size &&
                  ia.tie_word_embeddings == ib.tie_word_embeddings && ia.is_gated_act == ib.is_gated_act &&
                  ia.max_input_length == ib.max_input_length && ib.weight_dtype == weight_dtype &&
                  strcmp(ia.activation_name, ib.activation_name) == 0,
              "%s: info differs after the round trip", name);
        nt5_embeddings *ea = encode(a), *eb = encode(b);
        size_t bs, s, d;
        if (ea && eb && nt5_embeddings_shape(ea, &bs, &s, &d) == NT5_OK)
            CHECK(memcmp(nt5_embeddings_data(ea), nt5_embeddings_data(eb), bs * s * d * sizeof(float)) == 0,
                  "%s: hidden states differ after the round trip", name);
        nt5_embeddings_free(ea);
        nt5_embeddings_free(eb);
        for (int beams = 1; beams <= 4; beams += 3) {
            nt5_generation *ga = generate(a, beams), *gb = generate(b, beams);
            CHECK(same_generation(ga, gb), "%s: %d-beam generation differs after the round trip", name, beams);
            nt5_generation_free(ga);
            nt5_generation_free(gb);
        }
    }
    nt5_model_free(a);
    nt5_model_free(b);
}

static int leftover_temporaries(void) {
    DIR *d = opendir(tmp_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void check_encoder_only_and_errors(void) {
    char file[2048];
    snprintf(file, sizeof file, "%s/encoder.nt5", tmp_dir);
    nt5_model *m = open_with(data_path("t5-v1_1-tiny"), NT5_DTYPE_F32, 1);
    if (m) CHECK_STATUS(nt5_model_save(m, file), NT5_OK);
    nt5_model *e = open_with(file, NT5_DTYPE_F32, 0);
    if (e) {
        nt5_model_info info = {.struct_size = sizeof info};
        nt5_model_get_info(e, &info);
        CHECK(info.has_decoder == 0, "an encoder-only file has no decoder");
    }
    nt5_model_free(e);

    CHECK_STATUS(nt5_model_save(NULL, file), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_model_save(m, NULL), NT5_ERR_INVALID_ARG);
    char bad[2048];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.nt5", tmp_dir);
    CHECK_STATUS(nt5_model_save(m, bad), NT5_ERR_IO);
    CHECK(strstr(nt5_last_error(), "no-such-dir") != NULL, "save error names the path: %s", nt5_last_error());
    nt5_model_free(m);
    CHECK(leftover_temporaries() == 0, "temporary files left behind");

    /* a safetensors file that is not an nt5 file opens as a single checkpoint
     * (its config from the tensors; tests/test_single_file.py has the rest);
     * an nt5 file of a newer format does not open */
    nt5_model *x = NULL;
    CHECK_STATUS(nt5_model_open(data_path("t5-v1_1-tiny/model.safetensors"), NULL, &x), NT5_OK);
    nt5_model_info info = {.struct_size = sizeof info};
    if (x && nt5_model_get_info(x, &info) == NT5_OK)
        CHECK(info.d_ff == 96 && info.num_layers == 3 && info.num_decoder_layers == 2 && info.tokenizer_size == 0,
              "config from the tensors: d_ff %d, %d + %d layers, tokenizer %d", info.d_ff, info.num_layers,
              info.num_decoder_layers, info.tokenizer_size);
    nt5_model_free(x);
    x = NULL;
    size_t len;
    char *bytes = read_file(file, &len);
    char *version = bytes && len > 8 ? strstr(bytes + 8, "\"nt5_format\":\"1\"") : NULL;
    CHECK(version != NULL, "format version in the header");
    if (version) {
        version[strlen("\"nt5_format\":\"")] = '9';
        snprintf(bad, sizeof bad, "%s/future.nt5", tmp_dir);
        FILE *f = fopen(bad, "wb");
        if (f) {
            fwrite(bytes, 1, len, f);
            fclose(f);
        }
        CHECK_STATUS(nt5_model_open(bad, NULL, &x), NT5_ERR_UNSUPPORTED);
        CHECK(strstr(nt5_last_error(), "format 9") != NULL, "message: %s", nt5_last_error());
    }
    free(bytes);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "%s/nt5-file-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_dir)) return 1;
    static const char *const models[] = {"t5-v1_0-tiny", "t5-v1_1-tiny", "t5-v1_1-tiny-sharded", "mt5-tiny",
                                         "umt5-tiny"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) round_trip(models[i], NT5_DTYPE_F32);
    round_trip("t5-v1_1-tiny", NT5_DTYPE_BF16);
    check_encoder_only_and_errors();
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return harness_finish("nt5-file");
}
