/* The ABI contract: versions, status names, option structs of any released
 * size, and a status plus a message for every NULL or out-of-range
 * argument of every public function. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* What a caller compiled against a smaller (older) struct passes. */
typedef struct old_encode_options {
    uint32_t struct_size;
    int32_t padding;
} old_encode_options;

typedef struct old_generate_options {
    uint32_t struct_size;
    int32_t max_new_tokens;
} old_generate_options;

typedef struct old_model_info {
    uint32_t struct_size;
    int32_t model_type;
} old_model_info;

#define CHECK_FAILS(call, want)                                                                                        \
    do {                                                                                                               \
        CHECK_STATUS(call, want);                                                                                      \
        CHECK(nt5_last_error()[0] != '\0', "%s gave no message", #call);                                               \
    } while (0)

static void check_versions(void) {
    CHECK(nt5_abi_version() >= NT5_ABI_VERSION, "runtime ABI %u < header %d", nt5_abi_version(), NT5_ABI_VERSION);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", NT5_VERSION_MAJOR, NT5_VERSION_MINOR, NT5_VERSION_PATCH);
    CHECK(strcmp(nt5_version(), want) == 0, "version %s vs %s", nt5_version(), want);
    static const nt5_status all[] = {NT5_OK,
                                     NT5_ERR_INVALID_ARG,
                                     NT5_ERR_IO,
                                     NT5_ERR_FORMAT,
                                     NT5_ERR_UNSUPPORTED,
                                     NT5_ERR_OUT_OF_MEMORY,
                                     NT5_ERR_BUFFER_TOO_SMALL,
                                     NT5_ERR_CANCELLED,
                                     NT5_ERR_TOO_LONG,
                                     NT5_ERR_NO_DEVICE,
                                     NT5_ERR_DEVICE,
                                     NT5_ERR_AUTH,
                                     NT5_ERR_NOT_FOUND,
                                     NT5_ERR_NETWORK,
                                     NT5_ERR_INTERNAL};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK(strncmp(nt5_status_name(all[i]), "NT5_", 4) == 0 && strcmp(nt5_status_name(all[i]), "NT5_ERR_UNKNOWN"),
              "status %d has no name", all[i]);
    CHECK(strcmp(nt5_status_name(12345), "NT5_ERR_UNKNOWN") == 0, "unknown status name");
}

static void check_option_structs(nt5_model *m) {
    nt5_encode_options eo;
    CHECK_FAILS(nt5_encode_options_init(NULL, sizeof eo), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_options_init(&eo, 0), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_options_init(&eo, sizeof eo + 4), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_encode_options_init(&eo, sizeof eo), NT5_OK);
    CHECK(eo.struct_size == sizeof eo && eo.truncation == 1 && eo.output_dtype == NT5_DTYPE_F32, "encode defaults");
    CHECK_FAILS(nt5_encode_options_preset(&eo, 99), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_encode_options_preset(&eo, NT5_PRESET_FLUX), NT5_OK);
    CHECK(eo.max_length == 512 && eo.attention == NT5_ATTEND_ALL && eo.padding == NT5_PADDING_MAX_LENGTH,
          "flux preset");
    CHECK_STATUS(nt5_encode_options_preset(&eo, NT5_PRESET_WAN), NT5_OK);
    CHECK(eo.zero_padding == 1 && eo.attention == NT5_ATTEND_MASKED, "wan preset");

    /* an old, smaller struct followed by bytes the library must not read */
    struct {
        old_encode_options o;
        unsigned char junk[64];
    } old;
    memset(&old, 0xff, sizeof old);
    CHECK_STATUS(nt5_encode_options_init((nt5_encode_options *)&old.o, sizeof old.o), NT5_OK);
    CHECK(old.junk[0] == 0xff, "init wrote past struct_size");
    CHECK_STATUS(nt5_encode_options_preset((nt5_encode_options *)&old.o, NT5_PRESET_SD3), NT5_OK);
    CHECK(old.junk[0] == 0xff, "preset wrote past struct_size");
    old.o.padding = NT5_PADDING_MAX_LENGTH;
    const char *text = "Hello world!";
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_texts(m, &text, 1, (const nt5_encode_options *)&old.o, &e), NT5_OK);
    size_t len = 0;
    nt5_embeddings_shape(e, NULL, &len, NULL);
    CHECK(len == 512 && nt5_embeddings_dtype(e) == NT5_DTYPE_F32, "old struct: padded to the default %zu", len);
    nt5_embeddings_free(e);

    struct {
        old_generate_options o;
        unsigned char junk[128];
    } oldg;
    memset(&oldg, 0xff, sizeof oldg);
    CHECK_STATUS(nt5_generate_options_init((nt5_generate_options *)&oldg.o, sizeof oldg.o), NT5_OK);
    oldg.o.max_new_tokens = 3;
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, &text, 1, (const nt5_generate_options *)&oldg.o, &g), NT5_OK);
    size_t n = 0;
    if (g) nt5_generation_get(g, 0, NULL, &n, NULL, NULL);
    CHECK(n == 3, "old generate struct: %zu tokens", n);
    nt5_generation_free(g);

    struct {
        old_model_info i;
        unsigned char junk[256];
    } info;
    memset(&info, 0xab, sizeof info);
    info.i.struct_size = sizeof info.i;
    CHECK_STATUS(nt5_model_get_info(m, (nt5_model_info *)&info.i), NT5_OK);
    CHECK(info.i.model_type == NT5_MODEL_T5 && info.junk[0] == 0xab, "old info struct");
    nt5_model_info full = {.struct_size = sizeof full + 8};
    CHECK_FAILS(nt5_model_get_info(m, &full), NT5_ERR_INVALID_ARG);
}

static void check_null_args(nt5_model *m) {
    nt5_model *out = (nt5_model *)&out;
    nt5_model_options mo;
    CHECK_STATUS(nt5_model_options_init(&mo, sizeof mo), NT5_OK);
    CHECK_FAILS(nt5_model_open(NULL, &mo, &out), NT5_ERR_INVALID_ARG);
    CHECK(out == NULL, "out not cleared on failure");
    CHECK_FAILS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, NULL), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_model_open("", &mo, &out), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_model_open(data_path("no-such-model"), NULL, &out), NT5_ERR_NOT_FOUND);
    CHECK(strstr(nt5_last_error(), "no-such-model") != NULL, "message names the path: %s", nt5_last_error());
    mo.device = "tpu";
    CHECK_FAILS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &out), NT5_ERR_INVALID_ARG);
    mo.device = "cuda:100000";
    CHECK_FAILS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &out), NT5_ERR_INVALID_ARG);
    mo.device = "cuda:1023"; /* no machine has that many GPUs */
    CHECK_FAILS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &out), NT5_ERR_NO_DEVICE);
    mo.device = NULL;
    mo.num_threads = -3;
    CHECK_FAILS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &out), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_model_save(NULL, "/tmp/x.nt5"), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_model_save_hf(m, NULL), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_model_save_hf(m, data_path("t5-v1_1-tiny")), NT5_ERR_INVALID_ARG); /* exists */
    char dir[64];
    size_t dir_len;
    CHECK_FAILS(nt5_hub_download(NULL, NULL, dir, sizeof dir, &dir_len), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_hub_download("not a valid id!", NULL, dir, sizeof dir, &dir_len), NT5_ERR_INVALID_ARG);
    nt5_model_free(NULL);
    nt5_embeddings_free(NULL);
    nt5_generation_free(NULL);

    nt5_model_info info = {.struct_size = sizeof info};
    CHECK_FAILS(nt5_model_get_info(NULL, &info), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_model_get_info(m, NULL), NT5_ERR_INVALID_ARG);
    info.struct_size = 0;
    CHECK_FAILS(nt5_model_get_info(m, &info), NT5_ERR_INVALID_ARG);

    int32_t ids[64];
    size_t n = 0;
    CHECK_FAILS(nt5_tokenize(NULL, "x", 0, ids, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_tokenize(m, NULL, 0, ids, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_tokenize(m, "x", 0, ids, 64, NULL), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_tokenize(m, "x", 0, NULL, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_tokenize(m, "x", 0x100, ids, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_tokenize(m, "Hello world!", 0, ids, 2, &n), NT5_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 8, "needed size %zu", n);
    CHECK_STATUS(nt5_tokenize(m, "Hello world!", NT5_TOKENIZE_NO_EOS, ids, 64, &n), NT5_OK);
    CHECK(n == 7 && ids[6] != 1, "no EOS");

    char text[64];
    int32_t bad[] = {5, -1};
    CHECK_FAILS(nt5_detokenize(NULL, ids, 1, 0, text, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_detokenize(m, NULL, 1, 0, text, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_detokenize(m, ids, 1, 0, text, 64, NULL), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_detokenize(m, ids, 1, 0x40, text, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_detokenize(m, bad, 2, 0, text, 64, &n), NT5_ERR_INVALID_ARG);
    bad[1] = 1024;
    CHECK_FAILS(nt5_detokenize(m, bad, 2, 0, text, 64, &n), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_tokenize(m, "Hello world!", 0, ids, 64, &n), NT5_OK);
    CHECK_FAILS(nt5_detokenize(m, ids, n, 0, text, 3, &n), NT5_ERR_BUFFER_TOO_SMALL);
    CHECK(n == strlen("Hello world!</s>"), "needed text length %zu", n);
    CHECK_STATUS(nt5_detokenize(m, ids, 8, NT5_DETOKENIZE_SKIP_SPECIAL, text, 64, &n), NT5_OK);
    CHECK(strcmp(text, "Hello world!") == 0, "detokenized \"%s\"", text);
    CHECK_STATUS(nt5_detokenize(m, ids, 0, 0, text, 64, &n), NT5_OK);
    CHECK(n == 0 && text[0] == '\0', "empty detokenize");

    const char *texts[] = {"a", NULL};
    nt5_embeddings *e = (nt5_embeddings *)&e;
    nt5_encode_options eo;
    nt5_encode_options_init(&eo, sizeof eo);
    CHECK_FAILS(nt5_encode_texts(NULL, texts, 1, &eo, &e), NT5_ERR_INVALID_ARG);
    CHECK(e == NULL, "embeddings out not cleared");
    CHECK_FAILS(nt5_encode_texts(m, NULL, 1, &eo, &e), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_texts(m, texts, 1, &eo, NULL), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_texts(m, texts, 0, &eo, &e), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_texts(m, texts, 2, &eo, &e), NT5_ERR_INVALID_ARG);
    const int32_t *field_values[] = {&eo.padding, &eo.attention, &eo.output_dtype, &eo.max_length};
    for (size_t i = 0; i < 4; i++) {
        nt5_encode_options bado = eo;
        *(int32_t *)((char *)&bado + ((const char *)field_values[i] - (const char *)&eo)) = -7;
        CHECK_FAILS(nt5_encode_texts(m, texts, 1, &bado, &e), NT5_ERR_INVALID_ARG);
    }
    size_t lens[] = {2, 0};
    int32_t some[] = {5, 1};
    CHECK_FAILS(nt5_encode_ids(m, NULL, lens, 1, &eo, &e), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_ids(m, some, NULL, 1, &eo, &e), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_encode_ids(m, some, lens, 2, &eo, &e), NT5_ERR_INVALID_ARG); /* empty row */
    some[0] = 5000;
    CHECK_FAILS(nt5_encode_ids(m, some, lens, 1, &eo, &e), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_embeddings_shape(NULL, NULL, NULL, NULL), NT5_ERR_INVALID_ARG);
    CHECK(nt5_embeddings_data(NULL) == NULL && nt5_embeddings_lengths(NULL) == NULL &&
              nt5_embeddings_token_ids(NULL) == NULL && nt5_embeddings_dtype(NULL) == -1,
          "embedding accessors on NULL");

    nt5_generate_options go;
    nt5_generate_options_init(&go, sizeof go);
    nt5_generation *g = NULL;
    const char *one[] = {"Hello"};
    CHECK_FAILS(nt5_generate_texts(NULL, one, 1, &go, &g), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_generate_texts(m, NULL, 1, &go, &g), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_generate_texts(m, one, 1, &go, NULL), NT5_ERR_INVALID_ARG);
    CHECK_FAILS(nt5_generate_ids(m, NULL, lens, 1, &go, &g), NT5_ERR_INVALID_ARG);
    struct {
        const char *what;
        nt5_generate_options o;
    } bads[12];
    for (size_t i = 0; i < 12; i++) bads[i].o = go;
    bads[0].o.max_new_tokens = 0;
    bads[1].o.num_beams = 0;
    bads[2].o.do_sample = 1, bads[2].o.num_beams = 2;
    bads[3].o.temperature = 0;
    bads[4].o.top_p = 0;
    bads[5].o.top_k = -1;
    bads[6].o.num_return_sequences = 2;
    bads[7].o.num_beams = 2, bads[7].o.num_return_sequences = 3;
    bads[8].o.repetition_penalty = 0;
    bads[9].o.no_repeat_ngram_size = -1;
    bads[10].o.min_new_tokens = 100, bads[10].o.max_new_tokens = 10;
    bads[11].o.max_input_length = -1;
    for (size_t i = 0; i < 12; i++) {
        nt5_status st = nt5_generate_texts(m, one, 1, &bads[i].o, &g);
        CHECK(st == NT5_ERR_INVALID_ARG || st == NT5_ERR_UNSUPPORTED, "bad generate option %zu: %s", i,
              nt5_status_name(st));
        CHECK(g == NULL && nt5_last_error()[0], "bad generate option %zu: no message or result", i);
    }
    CHECK(nt5_generation_count(NULL) == 0, "count of NULL");
    CHECK_FAILS(nt5_generation_get(NULL, 0, NULL, NULL, NULL, NULL), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_generate_texts(m, one, 1, &go, &g), NT5_OK);
    CHECK_FAILS(nt5_generation_get(g, 1, NULL, NULL, NULL, NULL), NT5_ERR_INVALID_ARG);
    nt5_generation_free(g);
}

int main(void) {
    check_versions();
    nt5_model *m = open_model_or_fail(data_path("t5-v1_1-tiny"));
    if (m) {
        check_option_structs(m);
        check_null_args(m);
    }
    nt5_model_free(m);
    return harness_finish("abi");
}
