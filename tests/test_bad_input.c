/* Bad input gives a clear error, never a crash or a leak: one case each for
 * corrupt safetensors, wrong shapes and dtypes, missing tensors, broken
 * configs, unknown model types, hostile shard names, a tokenizer
 * sentencepiece throws on, invalid UTF-8, empty and too-long prompts, and
 * the files fuzz_model_open found a crash or leak with. Runs under ASan/UBSan
 * and valgrind in CI. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char tmp_root[1024];

static void spill(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, len, f);
    fclose(f);
}

/* A fresh copy of the t5-v1_1-tiny model in tmp_root/name. */
static const char *fresh_model(const char *name) {
    static char dir[4096];
    snprintf(dir, sizeof dir, "%.1024s/%.200s", tmp_root, name);
    mkdir(dir, 0700);
    static const char *const files[] = {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"};
    for (size_t i = 0; i < 4; i++) {
        char src[4096], dst[4096];
        size_t len;
        snprintf(src, sizeof src, "%.2000s/t5-v1_1-tiny/%.200s", data_dir(), files[i]);
        snprintf(dst, sizeof dst, "%.2000s/%.200s", dir, files[i]);
        char *data = read_file(src, &len);
        if (data) spill(dst, data, len);
        free(data);
    }
    return dir;
}

static void write_text(const char *dir, const char *file, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    spill(path, text, strlen(text));
}

/* Rewrites dir/model.safetensors with its header changed by `edit`. */
static void edit_header(const char *dir, void (*edit)(cJSON *header)) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t len;
    unsigned char *bytes = (unsigned char *)read_file(path, &len);
    if (!bytes) return;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    cJSON *header = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)hlen);
    edit(header);
    char *text = cJSON_PrintUnformatted(header);
    size_t n = strlen(text), padded = (n + 7) / 8 * 8, data_len = len - 8 - (size_t)hlen;
    unsigned char *out = malloc(8 + padded + data_len);
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(out + 8, text, n);
    memset(out + 8 + n, ' ', padded - n);
    memcpy(out + 8 + padded, bytes + 8 + hlen, data_len);
    spill(path, out, 8 + padded + data_len);
    free(out);
    free(text);
    cJSON_Delete(header);
    free(bytes);
}

static void expect_open_error(const char *case_name, const char *dir, nt5_status want, const char *phrase) {
    nt5_model *m = NULL;
    nt5_status st = nt5_model_open(dir, NULL, &m);
    CHECK(st == want, "%s: %s, wanted %s (%s)", case_name, nt5_status_name(st), nt5_status_name(want),
          nt5_last_error());
    CHECK(m == NULL, "%s: a model came back", case_name);
    CHECK(strstr(nt5_last_error(), phrase) != NULL, "%s: message \"%s\" does not mention \"%s\"", case_name,
          nt5_last_error(), phrase);
    nt5_model_free(m);
}

/* dir/spiece.model with its first piece that holds "\u2581" (the word start) turned into one that begins
 * with 3 NUL bytes: sentencepiece's trie builder throws on it (as it did, leaking the half-loaded model, on
 * a GGUF tokenizer fuzz_model_open made) */
static void nul_piece(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    size_t len;
    char *bytes = read_file(path, &len);
    char *at = bytes ? memmem(bytes, len, "\xe2\x96\x81", 3) : NULL;
    CHECK(at != NULL, "no word-start piece in %s", path);
    if (at) {
        memset(at, 0, 3);
        spill(path, bytes, len);
    }
    free(bytes);
}

static void set_offsets(cJSON *t, double begin, double end) {
    cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
    cJSON_SetNumberValue(cJSON_GetArrayItem(offs, 0), begin);
    cJSON_SetNumberValue(cJSON_GetArrayItem(offs, 1), end);
}

static void overlap(cJSON *h) {
    cJSON *a = cJSON_GetObjectItem(h, "encoder.final_layer_norm.weight");
    cJSON *b = cJSON_GetObjectItem(h, "decoder.final_layer_norm.weight");
    double begin = cJSON_GetArrayItem(cJSON_GetObjectItem(a, "data_offsets"), 0)->valuedouble;
    set_offsets(b, begin + 4, begin + 4 + 256);
}
static void out_of_bounds(cJSON *h) {
    set_offsets(cJSON_GetObjectItem(h, "encoder.final_layer_norm.weight"), 1e9, 1e9 + 256);
}
static void wrong_dtype(cJSON *h) {
    cJSON_SetValuestring(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "encoder.final_layer_norm.weight"), "dtype"),
                         "I32");
}
static void missing_tensor(cJSON *h) {
    cJSON_DeleteItemFromObject(h, "encoder.block.1.layer.1.DenseReluDense.wo.weight");
}
static void size_mismatch(cJSON *h) {
    cJSON *shape = cJSON_GetObjectItem(cJSON_GetObjectItem(h, "encoder.final_layer_norm.weight"), "shape");
    cJSON_SetNumberValue(cJSON_GetArrayItem(shape, 0), 65);
}

/* The same tensor name twice in a header (the format forbids it): refused, named. */
static void duplicate_tensor(cJSON *h) {
    cJSON *copy = cJSON_Duplicate(cJSON_GetObjectItem(h, "encoder.final_layer_norm.weight"), 1);
    cJSON_AddItemToObject(h, "encoder.final_layer_norm.weight", copy);
}

static void check_weights(void) {
    char path[4096];
    const char *dir = fresh_model("header-past-end");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unsigned char huge[16] = {0xff, 0xff, 0xff, 0x00, 0, 0, 0, 0, '{', '}'};
    spill(path, huge, sizeof huge);
    expect_open_error("header length past the file", dir, NT5_ERR_FORMAT, "runs past the end");

    dir = fresh_model("short-file");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    spill(path, "abc", 3);
    expect_open_error("file shorter than a header", dir, NT5_ERR_FORMAT, "too short");

    dir = fresh_model("header-not-json");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    spill(path, "\x08\0\0\0\0\0\0\0{nojson}", 16);
    expect_open_error("header not JSON", dir, NT5_ERR_FORMAT, "not a JSON object");

    dir = fresh_model("overlap");
    edit_header(dir, overlap);
    expect_open_error("overlapping offsets", dir, NT5_ERR_FORMAT, "overlap");

    dir = fresh_model("out-of-bounds");
    edit_header(dir, out_of_bounds);
    expect_open_error("out-of-bounds offsets", dir, NT5_ERR_FORMAT, "outside");

    dir = fresh_model("size-mismatch");
    edit_header(dir, size_mismatch);
    expect_open_error("shape disagrees with byte size", dir, NT5_ERR_FORMAT, "need");

    dir = fresh_model("duplicate-tensor");
    edit_header(dir, duplicate_tensor);
    expect_open_error("a tensor name twice", dir, NT5_ERR_FORMAT, "\"encoder.final_layer_norm.weight\" appears twice");

    dir = fresh_model("wrong-dtype");
    edit_header(dir, wrong_dtype);
    expect_open_error("wrong dtype", dir, NT5_ERR_FORMAT, "I32");

    dir = fresh_model("missing-tensor");
    edit_header(dir, missing_tensor);
    expect_open_error("missing tensor", dir, NT5_ERR_NOT_FOUND, "encoder.block.1.layer.1.DenseReluDense.wo.weight");

    dir = fresh_model("wrong-shape");
    write_text(
        dir, "config.json",
        "{\"model_type\": \"t5\", \"d_model\": 64, \"d_kv\": 8, \"d_ff\": 100, \"num_heads\": 6, \"num_layers\": 3,"
        " \"num_decoder_layers\": 2, \"vocab_size\": 1024, \"feed_forward_proj\": \"gated-gelu\","
        " \"tie_word_embeddings\": false}");
    expect_open_error("tensor of the wrong shape", dir, NT5_ERR_FORMAT,
                      "has shape [96, 64] but the config needs [100, 64]");

    /* a config claiming a model of terabytes: refused by shape before anything is allocated */
    dir = fresh_model("huge-config");
    write_text(dir, "config.json",
               "{\"model_type\": \"t5\", \"d_model\": 16000000, \"d_kv\": 8, \"d_ff\": 96, \"num_heads\": 6,"
               " \"num_layers\": 3, \"vocab_size\": 4000000, \"feed_forward_proj\": \"gated-gelu\"}");
    expect_open_error("a huge config over a small checkpoint", dir, NT5_ERR_FORMAT,
                      "but the config needs [4000000, 16000000]");

    dir = fresh_model("no-weights");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    expect_open_error("no weight files", dir, NT5_ERR_NOT_FOUND, "model.safetensors");

    dir = fresh_model("hostile-shard");
    unlink(path);
    snprintf(path, sizeof path, "%s/hostile-shard/model.safetensors", tmp_root);
    unlink(path);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\": {}, \"weight_map\": {\"shared.weight\": \"../../../etc/passwd\"}}");
    expect_open_error("shard name with ../", dir, NT5_ERR_FORMAT, "invalid shard file name");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\": {\"shared.weight\": \"/etc/passwd\"}}");
    expect_open_error("absolute shard name", dir, NT5_ERR_FORMAT, "invalid shard file name");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\": {\"shared.weight\": \"missing.safetensors\"}}");
    expect_open_error("missing shard", dir, NT5_ERR_NOT_FOUND, "missing.safetensors");
}

static void check_configs(void) {
    const char *dir = fresh_model("config-malformed");
    write_text(dir, "config.json", "{\"model_type\": \"t5\", \"d_model\": ");
    expect_open_error("malformed config.json", dir, NT5_ERR_FORMAT, "not valid JSON");

    dir = fresh_model("config-incomplete");
    write_text(dir, "config.json", "{\"model_type\": \"t5\", \"d_kv\": 8, \"d_ff\": 96, \"num_heads\": 6}");
    expect_open_error("incomplete config.json", dir, NT5_ERR_FORMAT, "d_model");

    dir = fresh_model("config-bad-value");
    write_text(dir, "config.json",
               "{\"model_type\": \"t5\", \"d_model\": -64, \"d_kv\": 8, \"d_ff\": 96, "
               "\"num_heads\": 6, \"num_layers\": 3, \"vocab_size\": 1024}");
    expect_open_error("negative d_model", dir, NT5_ERR_FORMAT, "d_model");

    dir = fresh_model("config-unknown-type");
    write_text(dir, "config.json", "{\"model_type\": \"bert\", \"d_model\": 64}");
    expect_open_error("unknown model type", dir, NT5_ERR_UNSUPPORTED, "bert");

    dir = fresh_model("config-bad-ffn");
    write_text(dir, "config.json",
               "{\"model_type\": \"t5\", \"d_model\": 64, \"d_kv\": 8, \"d_ff\": 96, \"num_heads\": 6, "
               "\"num_layers\": 3, \"vocab_size\": 1024, \"feed_forward_proj\": \"gated-swoosh\"}");
    expect_open_error("unknown activation", dir, NT5_ERR_UNSUPPORTED, "swoosh");

    dir = fresh_model("config-missing");
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    expect_open_error("no config.json", dir, NT5_ERR_NOT_FOUND, "config.json");

    dir = fresh_model("tokenizer-corrupt");
    write_text(dir, "spiece.model", "this is not a sentencepiece model");
    expect_open_error("corrupt spiece.model", dir, NT5_ERR_FORMAT, "spiece.model");

    dir = fresh_model("tokenizer-nul-piece");
    nul_piece(dir);
    expect_open_error("a spiece.model piece beginning with NUL bytes", dir, NT5_ERR_FORMAT,
                      "sentencepiece failed to load the model");

    dir = fresh_model("config-duplicate-key");
    write_text(dir, "config.json",
               "{\"model_type\": \"t5\", \"d_model\": 64, \"d_kv\": 8, \"d_ff\": 96, \"num_heads\": 6, "
               "\"num_layers\": 3, \"vocab_size\": 1024, \"feed_forward_proj\": \"gated-gelu\", \"d_model\": 32}");
    expect_open_error("a key twice in config.json", dir, NT5_ERR_FORMAT, "\"d_model\" appears twice");
}

/* A config with num_decoder_layers 0 opens as an encoder; generating says why it cannot. */
static void check_no_decoder(void) {
    const char *dir = fresh_model("config-no-decoder");
    write_text(dir, "config.json",
               "{\"model_type\": \"t5\", \"d_model\": 64, \"d_kv\": 8, \"d_ff\": 96, \"num_heads\": 6, "
               "\"num_layers\": 3, \"num_decoder_layers\": 0, \"vocab_size\": 1024, "
               "\"feed_forward_proj\": \"gated-gelu\", \"tie_word_embeddings\": false}");
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(dir, NULL, &m), NT5_OK);
    const char *text = "Hello";
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, &text, 1, NULL, &g), NT5_ERR_UNSUPPORTED);
    CHECK(strstr(nt5_last_error(), "num_decoder_layers 0") != NULL, "no-decoder message: %s", nt5_last_error());
    nt5_generation_free(g);
    nt5_model_free(m);
}

static void check_prompts(void) {
    nt5_model *m = open_model_or_fail(data_path("t5-v1_1-tiny"));
    if (!m) return;
    const char *bad_utf8[] = {"caf\xc3"};
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_texts(m, bad_utf8, 1, NULL, &e), NT5_ERR_INVALID_ARG);
    CHECK(strstr(nt5_last_error(), "UTF-8") && strstr(nt5_last_error(), "texts[0]"), "UTF-8 message: %s",
          nt5_last_error());
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, bad_utf8, 1, NULL, &g), NT5_ERR_INVALID_ARG);

    /* the empty string is a valid prompt ([</s>], as in Hugging Face); an
     * input with no tokens is not */
    const char *empty[] = {""};
    CHECK_STATUS(nt5_generate_texts(m, empty, 1, NULL, &g), NT5_OK);
    nt5_generation_free(g);
    g = NULL;
    int32_t none[1] = {0};
    size_t zero = 0;
    CHECK_STATUS(nt5_generate_ids(m, none, &zero, 1, NULL, &g), NT5_ERR_INVALID_ARG);
    CHECK(strstr(nt5_last_error(), "no tokens") != NULL, "empty ids message: %s", nt5_last_error());

    /* over the maximum length: truncated by default, an error without truncation */
    char *long_text = malloc(20001);
    for (int i = 0; i < 20000; i++) long_text[i] = i % 5 == 4 ? ' ' : 'a' + i % 7;
    long_text[20000] = '\0';
    const char *texts[] = {long_text};
    CHECK_STATUS(nt5_encode_texts(m, texts, 1, NULL, &e), NT5_OK);
    CHECK(e && nt5_embeddings_lengths(e)[0] == 512, "truncated to 512 tokens");
    nt5_embeddings_free(e);
    e = NULL;
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.truncation = 0;
    o.max_new_tokens = 2;
    CHECK_STATUS(nt5_generate_texts(m, texts, 1, &o, &g), NT5_ERR_TOO_LONG);
    o.truncation = 1;
    CHECK_STATUS(nt5_generate_texts(m, texts, 1, &o, &g), NT5_OK);
    nt5_generation_free(g);
    free(long_text);
    nt5_model_free(m);
}

/* Files that are not regular files where nt5 reads one: refused at once
 * (a FIFO would block a read forever), named for what they are. */
static void check_special_files(void) {
    static const char *const files[] = {"config.json", "model.safetensors", "spiece.model"};
    char path[4200], name[64];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(name, sizeof name, "fifo-%zu", i);
        const char *dir = fresh_model(name);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
        CHECK(mkfifo(path, 0600) == 0, "mkfifo %s", path);
        expect_open_error(files[i], dir, NT5_ERR_IO, "is a FIFO");
    }
    const char *dir = fresh_model("config-directory");
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    mkdir(path, 0700);
    expect_open_error("a directory named config.json", dir, NT5_ERR_IO, "is a directory");

    dir = fresh_model("symlink-loop");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    CHECK(symlink("model.safetensors", path) == 0, "symlink %s", path);
    expect_open_error("model.safetensors a symbolic link to itself", dir, NT5_ERR_IO, "symbolic links");
}

/* The files fuzz_model_open found a crash or leak with, fixed since
 * (tests/fuzz/regressions/model_open-*, each a bad file): refused with a
 * message, and nothing leaked. */
static void check_fuzz_regressions(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%.2000s/../fuzz/regressions", data_dir());
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot list %s", dir);
    if (!d) return;
    int seen = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "model_open-", strlen("model_open-")) != 0) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%.256s", dir, e->d_name);
        nt5_model *m = NULL;
        nt5_status st = nt5_model_open(path, NULL, &m);
        CHECK(st != NT5_OK && m == NULL && nt5_last_error()[0] != '\0', "%s: %s (%s)", e->d_name, nt5_status_name(st),
              nt5_last_error());
        nt5_model_free(m);
        seen++;
    }
    closedir(d);
    CHECK(seen > 0, "no model_open-* file in %s", dir);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/nt5-bad-input-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) return 1;
    check_weights();
    check_configs();
    check_prompts();
    check_special_files();
    check_no_decoder();
    check_fuzz_regressions();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return harness_finish("bad-input");
}
