/* Behaviour behind the public API: threads sharing a model (and a call's
 * share of its threads), cancellation,
 * streaming, output dtypes and padding modes, sampling and the logits
 * processors, beam search options, encoder-only models, and the
 * experimental teacher forcing (nt5_experimental.h). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NT5_EXPERIMENTAL
#include "harness.h"
#include "nt5_experimental.h"

static const char *const prompts[] = {
    "Hello world!",
    "translate English to German: The house is wonderful.",
    "The encoder reads the whole input sentence, and the decoder writes the output one token at a time.",
};
#define N_PROMPTS 3

typedef struct thread_job {
    nt5_model *m;
    const nt5_encode_options *eo; /* NULL: defaults */
    const float *want;
    size_t count;
    int mismatches, failures;
} thread_job;

static void *encode_many(void *arg) {
    thread_job *j = arg;
    for (int round = 0; round < 4; round++) {
        nt5_embeddings *e = NULL;
        if (nt5_encode_texts(j->m, prompts, N_PROMPTS, j->eo, &e) != NT5_OK) {
            j->failures++;
            continue;
        }
        j->mismatches += memcmp(nt5_embeddings_data(e), j->want, j->count * sizeof(float)) != 0;
        nt5_embeddings_free(e);
    }
    return NULL;
}

#define N_JOBS 8

/* Runs the 8 jobs on threads of their own at once; adds up their
 * mismatches and failures. */
static void run_jobs(thread_job jobs[N_JOBS], int *mismatches, int *failures) {
    pthread_t threads[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) pthread_create(&threads[i], NULL, encode_many, &jobs[i]);
    *mismatches = *failures = 0;
    for (int i = 0; i < N_JOBS; i++) {
        pthread_join(threads[i], NULL);
        *mismatches += jobs[i].mismatches;
        *failures += jobs[i].failures;
    }
}

static void check_threads(nt5_model *m) {
    nt5_embeddings *ref = NULL;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, NULL, &ref), NT5_OK);
    if (!ref) return;
    size_t b, s, d;
    nt5_embeddings_shape(ref, &b, &s, &d);
    thread_job jobs[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) jobs[i] = (thread_job){m, NULL, nt5_embeddings_data(ref), b * s * d, 0, 0};
    int mismatches, failures;
    run_jobs(jobs, &mismatches, &failures);
    CHECK(failures == 0 && mismatches == 0, "8 threads: %d failures, %d results differ from one thread", failures,
          mismatches);
    nt5_embeddings_free(ref);
}

/* Calls limited to part of a model's 4 threads (nt5_encode_options.num_threads
 * 1, 2, 3 and 0: all), made at once from 8 threads: each gives the bits one
 * call with the same limit gives alone. */
static void check_thread_limits(void) {
    nt5_model_options mo;
    nt5_model_options_init(&mo, sizeof mo);
    mo.num_threads = 4;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &m), NT5_OK);
    if (!m) return;
    nt5_encode_options eo[4];
    nt5_embeddings *ref[4] = {NULL};
    size_t b = 0, s = 0, d = 0;
    for (int n = 0; n < 4; n++) {
        nt5_encode_options_init(&eo[n], sizeof eo[n]);
        eo[n].num_threads = n;
        CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &eo[n], &ref[n]), NT5_OK);
        if (ref[n]) nt5_embeddings_shape(ref[n], &b, &s, &d);
    }
    int mismatches = 0, failures = 0;
    if (ref[0] && ref[1] && ref[2] && ref[3]) {
        thread_job jobs[N_JOBS];
        for (int i = 0; i < N_JOBS; i++)
            jobs[i] = (thread_job){m, &eo[i % 4], nt5_embeddings_data(ref[i % 4]), b * s * d, 0, 0};
        run_jobs(jobs, &mismatches, &failures);
    }
    CHECK(failures == 0 && mismatches == 0,
          "8 threads at 1, 2, 3 and all 4 threads a call: %d failures, %d results "
          "differ from one call alone",
          failures, mismatches);
    /* more than the model's: all of them */
    nt5_encode_options more = eo[0];
    more.num_threads = 9;
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &more, &e), NT5_OK);
    CHECK(e && ref[0] && memcmp(nt5_embeddings_data(e), nt5_embeddings_data(ref[0]), b * s * d * 4) == 0,
          "num_threads 9 of 4 differs from all of them");
    nt5_embeddings_free(e);
    e = NULL;
    more.num_threads = -1;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &more, &e), NT5_ERR_INVALID_ARG);
    CHECK(e == NULL, "a refused call returned embeddings");
    nt5_generate_options go;
    nt5_generate_options_init(&go, sizeof go);
    go.num_threads = -2;
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &go, &g), NT5_ERR_INVALID_ARG);
    CHECK(g == NULL && strstr(nt5_last_error(), "num_threads"), "negative num_threads: %s", nt5_last_error());
    for (int n = 0; n < 4; n++) nt5_embeddings_free(ref[n]);
    nt5_model_free(m);
}

typedef struct stream_log {
    char text[4096];
    int tokens, cancel_at;
} stream_log;

static int32_t on_token(const nt5_token_event *ev, void *user_data) {
    stream_log *log = user_data;
    if (ev->struct_size < sizeof *ev) return 1;
    strncat(log->text, ev->text, sizeof log->text - strlen(log->text) - 1);
    log->tokens++;
    return log->cancel_at && log->tokens >= log->cancel_at;
}

static void check_streaming_and_cancel(nt5_model *m) {
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 20;
    nt5_generation *plain = NULL, *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &plain), NT5_OK);
    stream_log log = {0};
    o.on_token = on_token;
    o.user_data = &log;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &g), NT5_OK);
    const int32_t *ids = NULL, *ids2 = NULL;
    size_t n = 0, n2 = 0;
    if (g && plain) {
        nt5_generation_get(plain, 0, &ids, &n, NULL, NULL);
        nt5_generation_get(g, 0, &ids2, &n2, NULL, NULL);
        CHECK(n == n2 && memcmp(ids, ids2, n * sizeof *ids) == 0, "a callback changes nothing");
        CHECK(log.tokens == (int)n, "callback calls %d for %zu tokens", log.tokens, n);
        char want[4096];
        size_t len;
        CHECK_STATUS(nt5_detokenize(m, ids, n, NT5_DETOKENIZE_SKIP_SPECIAL | NT5_DETOKENIZE_NO_CLEANUP, want,
                                    sizeof want, &len),
                     NT5_OK);
        CHECK(strcmp(log.text, want) == 0, "streamed \"%s\" vs \"%s\"", log.text, want);
    }
    nt5_generation_free(g);
    g = NULL;
    /* cancel after 3 tokens, greedy and beam; the model stays usable */
    for (int beams = 1; beams <= 4; beams += 3) {
        memset(&log, 0, sizeof log);
        log.cancel_at = 3;
        o.num_beams = beams;
        CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &g), NT5_ERR_CANCELLED);
        CHECK(g == NULL && log.tokens == 3, "cancelled with %d beams after %d calls", beams, log.tokens);
    }
    o.on_token = NULL;
    o.num_beams = 1;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &g), NT5_OK);
    if (g && plain) {
        nt5_generation_get(g, 0, &ids2, &n2, NULL, NULL);
        CHECK(n == n2 && memcmp(ids, ids2, n * sizeof *ids) == 0, "same result after a cancelled call");
    }
    nt5_generation_free(g);
    nt5_generation_free(plain);
}

static float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void check_encode_modes(nt5_model *m) {
    nt5_encode_options o;
    nt5_encode_options_init(&o, sizeof o);
    nt5_embeddings *f32 = NULL, *bf16 = NULL, *f16 = NULL;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &f32), NT5_OK);
    o.output_dtype = NT5_DTYPE_BF16;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &bf16), NT5_OK);
    o.output_dtype = NT5_DTYPE_F16;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &f16), NT5_OK);
    if (f32 && bf16 && f16) {
        size_t b, s, d;
        nt5_embeddings_shape(f32, &b, &s, &d);
        const float *x = nt5_embeddings_data(f32);
        const uint16_t *y = nt5_embeddings_data(bf16);
        double worst = 0;
        for (size_t i = 0; i < b * s * d; i++)
            worst = fmax(worst, fabs(bf16_value(y[i]) - x[i]) / fmax(fabs(x[i]), 1e-3));
        CHECK(worst <= 1.0 / 256, "bf16 output relative error %.3g", worst);
        CHECK(nt5_embeddings_dtype(f16) == NT5_DTYPE_F16, "f16 dtype");
    }
    nt5_embeddings_free(f32);
    nt5_embeddings_free(bf16);
    nt5_embeddings_free(f16);

    /* fixed length with zeroed padding rows */
    nt5_embeddings *e = NULL;
    nt5_encode_options_init(&o, sizeof o);
    o.padding = NT5_PADDING_MAX_LENGTH;
    o.max_length = 40;
    o.zero_padding = 1;
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &e), NT5_OK);
    if (e) {
        size_t b, s, d;
        nt5_embeddings_shape(e, &b, &s, &d);
        const size_t *lengths = nt5_embeddings_lengths(e);
        const float *x = nt5_embeddings_data(e);
        CHECK(s == 40 && lengths[0] == 8 && lengths[2] == 37, "shape %zu, lengths %zu %zu", s, lengths[0], lengths[2]);
        int nonzero_pad = 0, zero_real = 0;
        for (size_t r = 0; r < b; r++)
            for (size_t t = 0; t < s; t++) {
                double sum = 0;
                for (size_t k = 0; k < d; k++) sum += fabs(x[(r * s + t) * d + k]);
                if (t >= lengths[r]) nonzero_pad += sum != 0;
                else zero_real += sum == 0;
            }
        CHECK(nonzero_pad == 0 && zero_real == 0, "zero_padding: %d padded rows not zero", nonzero_pad);
    }
    nt5_embeddings_free(e);
    e = NULL;
    /* too long: truncated (keeping </s>), or an error */
    o.max_length = 10;
    o.zero_padding = 0;
    CHECK_STATUS(nt5_encode_texts(m, &prompts[2], 1, &o, &e), NT5_OK);
    if (e) {
        const int32_t *ids = nt5_embeddings_token_ids(e);
        CHECK(nt5_embeddings_lengths(e)[0] == 10 && ids[9] == 1, "truncated to 10 ending in </s>");
    }
    nt5_embeddings_free(e);
    e = NULL;
    o.truncation = 0;
    CHECK_STATUS(nt5_encode_texts(m, &prompts[2], 1, &o, &e), NT5_ERR_TOO_LONG);
    CHECK(strstr(nt5_last_error(), "max_length") != NULL, "too-long message: %s", nt5_last_error());
    /* the empty prompt encodes like Hugging Face: just </s> */
    const char *empty = "";
    CHECK_STATUS(nt5_encode_texts(m, &empty, 1, NULL, &e), NT5_OK);
    CHECK(e && nt5_embeddings_lengths(e)[0] == 1 && nt5_embeddings_token_ids(e)[0] == 1, "empty prompt -> [</s>]");
    nt5_embeddings_free(e);
}

#define N_VARIED 7

/* rows of the whole batch `e` that text i (at place `at`) has, against the same text encoded alone */
static int same_as_alone(nt5_model *m, const nt5_encode_options *o, const char *text, const nt5_embeddings *e,
                         size_t at) {
    nt5_embeddings *one = NULL;
    if (nt5_encode_texts(m, &text, 1, o, &one) != NT5_OK) return 0;
    size_t b, s, d, s1;
    nt5_embeddings_shape(e, &b, &s, &d);
    nt5_embeddings_shape(one, NULL, &s1, NULL);
    /* padded to the longest, the batch's extra positions are its own; a fixed length's are compared too */
    size_t rows = o->padding == NT5_PADDING_MAX_LENGTH ? s : nt5_embeddings_lengths(one)[0];
    int same = s1 <= s && memcmp((const float *)nt5_embeddings_data(e) + at * s * d, nt5_embeddings_data(one),
                                 rows * d * sizeof(float)) == 0;
    nt5_embeddings_free(one);
    return same;
}

/* The encoder is batch invariant: each text's hidden states are bit for bit
 * those it has encoded alone, in either order of a batch of many lengths,
 * masked or not, padded to the longest or to a fixed length, with padded
 * rows zeroed (which the encoder then does not compute) or not. */
static void check_batch_invariance(nt5_model *m) {
    static const char *const words[] = {"the", "house", "is", "wonderful", "and", "a", "cat", "sat", "on", "mat"};
    static const size_t counts[N_VARIED] = {0, 1, 6, 11, 23, 30, 17};
    char texts[N_VARIED][256];
    const char *forward[N_VARIED], *backward[N_VARIED];
    for (size_t i = 0; i < N_VARIED; i++) {
        size_t at = 0;
        texts[i][0] = 0;
        for (size_t w = 0; w < counts[i]; w++)
            at += (size_t)snprintf(texts[i] + at, sizeof texts[i] - at, "%s%s", w ? " " : "", words[(i + w * 3) % 10]);
        forward[i] = texts[i];
        backward[N_VARIED - 1 - i] = texts[i];
    }
    static const struct {
        int32_t padding, attention, zero_padding;
    } modes[] = {{NT5_PADDING_LONGEST, NT5_ATTEND_MASKED, 0},
                 {NT5_PADDING_LONGEST, NT5_ATTEND_MASKED, 1},
                 {NT5_PADDING_MAX_LENGTH, NT5_ATTEND_MASKED, 1},
                 {NT5_PADDING_MAX_LENGTH, NT5_ATTEND_ALL, 0}};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        nt5_encode_options o;
        nt5_encode_options_init(&o, sizeof o);
        o.padding = modes[k].padding;
        o.attention = modes[k].attention;
        o.zero_padding = modes[k].zero_padding;
        o.max_length = 50;
        nt5_embeddings *there = NULL, *back = NULL;
        CHECK_STATUS(nt5_encode_texts(m, forward, N_VARIED, &o, &there), NT5_OK);
        CHECK_STATUS(nt5_encode_texts(m, backward, N_VARIED, &o, &back), NT5_OK);
        int differ = !there || !back;
        for (size_t i = 0; !differ && i < N_VARIED; i++)
            differ = !same_as_alone(m, &o, forward[i], there, i) ||
                     !same_as_alone(m, &o, forward[i], back, N_VARIED - 1 - i);
        CHECK(!differ, "mode %zu: a text in a batch differs from the text encoded alone", k);
        nt5_embeddings_free(there);
        nt5_embeddings_free(back);
    }
}

/* Hidden states into the caller's buffer: the same bytes as owned output,
 * in place; a short buffer, device memory on the CPU and bad settings are
 * refused before any work. */
static void check_output_buffers(nt5_model *m) {
    nt5_encode_options o;
    nt5_encode_options_init(&o, sizeof o);
    o.padding = NT5_PADDING_MAX_LENGTH;
    o.max_length = 40;
    o.zero_padding = 1;
    for (int32_t dtype = NT5_DTYPE_F32; dtype <= NT5_DTYPE_BF16; dtype++) {
        o.output_dtype = dtype;
        o.output_buffer = NULL;
        o.output_capacity = 0;
        nt5_embeddings *owned = NULL, *into = NULL;
        CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &owned), NT5_OK);
        size_t bytes = N_PROMPTS * 40 * 64 * (dtype == NT5_DTYPE_F32 ? 4 : 2);
        unsigned char *buf = malloc(bytes + 16);
        memset(buf, 0xAB, bytes + 16);
        o.output_buffer = buf;
        o.output_capacity = bytes + 16;
        CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &into), NT5_OK);
        CHECK(owned && into && nt5_embeddings_data(into) == buf &&
                  memcmp(buf, nt5_embeddings_data(owned), bytes) == 0 && buf[bytes] == 0xAB,
              "dtype %d: the caller's buffer holds the hidden states, and nothing past them", dtype);
        nt5_embeddings_free(into); /* must not free buf (ASan and valgrind would see the free below) */
        CHECK(owned && memcmp(buf, nt5_embeddings_data(owned), bytes) == 0, "the buffer outlives the embeddings");
        nt5_embeddings *none = (nt5_embeddings *)buf;
        o.output_capacity = bytes - 1;
        CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, &o, &none), NT5_ERR_BUFFER_TOO_SMALL);
        char want[64];
        snprintf(want, sizeof want, "need %zu bytes", bytes);
        CHECK(!none && strstr(nt5_last_error(), want), "short buffer: %s", nt5_last_error());
        nt5_embeddings_free(owned);
        free(buf);
    }
    nt5_embeddings *e = NULL;
    float one[4];
    nt5_encode_options_init(&o, sizeof o);
    o.output_memory = NT5_MEMORY_DEVICE;
    CHECK_STATUS(nt5_encode_texts(m, prompts, 1, &o, &e), NT5_ERR_INVALID_ARG); /* no buffer */
    o.output_buffer = one;
    o.output_capacity = sizeof one;
    CHECK_STATUS(nt5_encode_texts(m, prompts, 1, &o, &e), NT5_ERR_UNSUPPORTED); /* a CPU model */
    o.output_memory = 7;
    CHECK_STATUS(nt5_encode_texts(m, prompts, 1, &o, &e), NT5_ERR_INVALID_ARG);
    o.output_memory = NT5_MEMORY_HOST;
    o.output_buffer = NULL;
    CHECK_STATUS(nt5_encode_texts(m, prompts, 1, &o, &e), NT5_ERR_INVALID_ARG); /* capacity without a buffer */
    CHECK(e == NULL, "no embeddings after a refused call");
}

static int ids_equal(const nt5_generation *a, const nt5_generation *b) {
    const int32_t *x, *y;
    size_t n, k;
    nt5_generation_get(a, 0, &x, &n, NULL, NULL);
    nt5_generation_get(b, 0, &y, &k, NULL, NULL);
    return n == k && memcmp(x, y, n * sizeof *x) == 0;
}

static void check_generate_options(nt5_model *m) {
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 24;
    nt5_generation *greedy = NULL, *a = NULL, *b = NULL, *c = NULL;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &greedy), NT5_OK);
    o.do_sample = 1;
    o.seed = 42;
    o.top_k = 20;
    o.top_p = 0.9f;
    o.temperature = 0.8f;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &a), NT5_OK);
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &b), NT5_OK);
    CHECK(a && b && ids_equal(a, b), "same seed, same sample");
    o.seed = 7;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &c), NT5_OK);
    CHECK(c && a && !ids_equal(a, c), "another seed, another sample");
    nt5_generation_free(a);
    nt5_generation_free(b);
    nt5_generation_free(c);
    a = NULL;
    o.top_k = 1; /* sampling from one token is greedy */
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &a), NT5_OK);
    CHECK(a && greedy && ids_equal(a, greedy), "top_k 1 equals greedy");
    nt5_generation_free(a);
    nt5_generation_free(greedy);

    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 30;
    o.no_repeat_ngram_size = 2;
    o.min_new_tokens = 30;
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, prompts, N_PROMPTS, &o, &g), NT5_OK);
    for (size_t i = 0; g && i < N_PROMPTS; i++) {
        const int32_t *ids;
        size_t n;
        nt5_generation_get(g, i, &ids, &n, NULL, NULL);
        int repeats = 0, early_eos = 0;
        for (size_t x = 0; x + 1 < n; x++)
            for (size_t y = x + 1; y + 1 < n; y++) repeats += ids[x] == ids[y] && ids[x + 1] == ids[y + 1];
        for (size_t x = 0; x < n; x++) early_eos += ids[x] == 1;
        CHECK(n == 30 && early_eos == 0, "min_new_tokens 30: %zu tokens, %d </s>", n, early_eos);
        CHECK(repeats == 0, "no_repeat_ngram_size 2: %d repeated bigrams in output %zu", repeats, i);
    }
    nt5_generation_free(g);
    g = NULL;

    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 12;
    o.repetition_penalty = 3.0f;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &g), NT5_OK);
    if (g) {
        const int32_t *ids;
        size_t n;
        nt5_generation_get(g, 0, &ids, &n, NULL, NULL);
        int repeats = 0;
        for (size_t x = 0; x < n; x++)
            for (size_t y = x + 1; y < n; y++) repeats += ids[x] == ids[y];
        CHECK(repeats < (int)n / 2, "repetition_penalty 3: %d repeats in %zu tokens", repeats, n);
    }
    nt5_generation_free(g);
    g = NULL;

    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 16;
    o.num_beams = 4;
    o.num_return_sequences = 3;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 2, &o, &g), NT5_OK);
    CHECK(nt5_generation_count(g) == 6, "2 inputs x 3 returns: %zu", nt5_generation_count(g));
    for (size_t in = 0; g && in < 2; in++) {
        float s0, s1, s2;
        nt5_generation_get(g, in * 3, NULL, NULL, NULL, &s0);
        nt5_generation_get(g, in * 3 + 1, NULL, NULL, NULL, &s1);
        nt5_generation_get(g, in * 3 + 2, NULL, NULL, NULL, &s2);
        CHECK(s0 >= s1 && s1 >= s2, "beam scores in rank order: %g %g %g", s0, s1, s2);
    }
    nt5_generation_free(g);
    g = NULL;
    o.num_return_sequences = 1;
    o.early_stopping = 1;
    o.length_penalty = 2.0f;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, &o, &g), NT5_OK);
    nt5_generation_free(g);
}

static void check_encoder_only(void) {
    nt5_model_options mo;
    nt5_model_options_init(&mo, sizeof mo);
    mo.device = "cpu";
    mo.encoder_only = 1;
    mo.num_threads = 1;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &m), NT5_OK);
    if (!m) return;
    nt5_model_info info = {.struct_size = sizeof info};
    nt5_model_get_info(m, &info);
    CHECK(info.has_decoder == 0 && info.num_decoder_layers == 0 && info.num_threads == 1, "encoder-only info");
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_texts(m, prompts, 1, NULL, &g), NT5_ERR_UNSUPPORTED);
    const int32_t ids[2] = {5, 1}, start = 0;
    float logits[8];
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, 2, &start, 1, logits, 8), NT5_ERR_UNSUPPORTED);
    nt5_embeddings *e = NULL;
    CHECK_STATUS(nt5_encode_texts(m, prompts, 1, NULL, &e), NT5_OK);
    nt5_embeddings_free(e);
    nt5_model_free(m);
}

/* min_new_tokens alone lets the backend pick (EOS's score set to -inf in
 * its memory first): the same tokens and, on the CPU, the same scores bit
 * for bit as the host's processing, which a no-repeat n-gram size longer
 * than any output forces without banning anything; greedy and sampled,
 * over a batch. */
static void check_min_tokens_on_backend(nt5_model *m) {
    for (int sample = 0; sample < 2; sample++) {
        nt5_generate_options o;
        nt5_generate_options_init(&o, sizeof o);
        o.max_new_tokens = 16;
        o.min_new_tokens = 10;
        o.do_sample = sample;
        o.seed = 3;
        nt5_generation *backend = NULL, *host = NULL;
        CHECK_STATUS(nt5_generate_texts(m, prompts, N_PROMPTS, &o, &backend), NT5_OK);
        o.no_repeat_ngram_size = 64;
        CHECK_STATUS(nt5_generate_texts(m, prompts, N_PROMPTS, &o, &host), NT5_OK);
        for (size_t i = 0; backend && host && i < N_PROMPTS; i++) {
            const int32_t *x, *y;
            size_t n, k;
            float sx, sy;
            nt5_generation_get(backend, i, &x, &n, NULL, &sx);
            nt5_generation_get(host, i, &y, &k, NULL, &sy);
            int eos_early = 0;
            for (size_t t = 0; t < n && t < 10; t++) eos_early += x[t] == 1;
            CHECK(n >= 10 && !eos_early, "%s %zu: %zu tokens, </s> among the first 10: %d",
                  sample ? "sampled" : "greedy", i, n, eos_early);
            CHECK(n == k && memcmp(x, y, n * sizeof *x) == 0 && memcmp(&sx, &sy, sizeof sx) == 0,
                  "%s %zu: backend picks (%zu tokens, score %.9g) differ from the host's (%zu, %.9g)",
                  sample ? "sampled" : "greedy", i, n, sx, k, sy);
        }
        nt5_generation_free(backend);
        nt5_generation_free(host);
    }
}

/* Teacher forcing on greedy decoding's own tokens picks them again: each
 * step's largest logit is the token greedy chose there; bad arguments are
 * refused. */
static void check_teacher_forcing(nt5_model *m) {
    int32_t ids[64];
    size_t n_ids = 0;
    CHECK_STATUS(nt5_tokenize(m, prompts[0], 0, ids, 64, &n_ids), NT5_OK);
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = o.min_new_tokens = 6;
    nt5_generation *g = NULL;
    CHECK_STATUS(nt5_generate_ids(m, ids, &n_ids, 1, &o, &g), NT5_OK);
    const int32_t *picked = NULL;
    size_t n = 0;
    if (g) nt5_generation_get(g, 0, &picked, &n, NULL, NULL);
    CHECK(n == 6, "6 new tokens, not %zu", n);
    nt5_model_info info = {.struct_size = sizeof info};
    nt5_model_get_info(m, &info);
    size_t V = (size_t)info.vocab_size;
    int32_t teacher[6] = {0}; /* the start token, then the picks but the last */
    for (size_t t = 1; t < 6 && t <= n; t++) teacher[t] = picked[t - 1];
    float *logits = malloc(6 * V * sizeof *logits);
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, n_ids, teacher, 6, logits, 6 * V), NT5_OK);
    for (size_t t = 0; t < n && t < 6; t++) {
        size_t best = 0;
        for (size_t v = 1; v < V; v++) best = logits[t * V + v] > logits[t * V + best] ? v : best;
        CHECK((int32_t)best == picked[t], "step %zu: teacher forcing's argmax %zu, greedy picked %d", t, best,
              picked[t]);
    }
    nt5_generation_free(g);
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, n_ids, teacher, 6, logits, 6 * V - 1), NT5_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, n_ids, teacher, 0, logits, 6 * V), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_teacher_forced_logits(NULL, ids, n_ids, teacher, 6, logits, 6 * V), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_teacher_forced_logits(m, NULL, n_ids, teacher, 6, logits, 6 * V), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, n_ids, teacher, 6, NULL, 6 * V), NT5_ERR_INVALID_ARG);
    teacher[3] = (int32_t)V;
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, n_ids, teacher, 6, logits, 6 * V), NT5_ERR_INVALID_ARG);
    CHECK(strstr(nt5_last_error(), "decoder_ids[3]") != NULL, "the bad id is named: %s", nt5_last_error());
    teacher[3] = 0;
    ids[0] = -5;
    CHECK_STATUS(nt5_teacher_forced_logits(m, ids, n_ids, teacher, 6, logits, 6 * V), NT5_ERR_INVALID_ARG);
    free(logits);
}

/* bf16 and f16 weight storage: within the bf16 tolerance docs/ARCHITECTURE.md sets of the fp32
 * model, in both the encoder (large products) and decoding (vector products); the CPU computes
 * in fp32 either way. */
static void check_half_weights(nt5_model *f32_model, int32_t dtype) {
    const char *name = dtype == NT5_DTYPE_BF16 ? "bf16" : "f16";
    nt5_model_options mo;
    nt5_model_options_init(&mo, sizeof mo);
    mo.device = "cpu";
    mo.weight_dtype = dtype;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &m), NT5_OK);
    if (!m) return;
    nt5_model_info info = {.struct_size = sizeof info};
    nt5_model_get_info(m, &info);
    CHECK(info.weight_dtype == dtype && info.compute_dtype == NT5_DTYPE_F32, "%s info", name);
    nt5_embeddings *a = NULL, *b = NULL;
    CHECK_STATUS(nt5_encode_texts(f32_model, prompts, N_PROMPTS, NULL, &a), NT5_OK);
    CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, NULL, &b), NT5_OK);
    if (a && b) {
        size_t bs, s, d;
        nt5_embeddings_shape(a, &bs, &s, &d);
        double err = rel_l2(nt5_embeddings_data(b), nt5_embeddings_data(a), bs * s * d);
        CHECK(err > 0 && err <= 1e-2, "%s weights: encoder relative L2 %.3g", name, err);
    }
    nt5_embeddings_free(a);
    nt5_embeddings_free(b);
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 8;
    for (int beams = 1; beams <= 4; beams += 3) {
        nt5_generation *g = NULL;
        o.num_beams = beams;
        CHECK_STATUS(nt5_generate_texts(m, prompts, N_PROMPTS, &o, &g), NT5_OK);
        CHECK(nt5_generation_count(g) == N_PROMPTS, "%s generation with %d beams", name, beams);
        nt5_generation_free(g);
    }
    nt5_model_free(m);
    mo.weight_dtype = 77;
    CHECK_STATUS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &m), NT5_ERR_INVALID_ARG);
}

/* allow_tf32 concerns GPU products: the CPU's stay exact fp32. */
static void check_tf32_ignored_on_cpu(nt5_model *f32_model) {
    nt5_model_options mo;
    nt5_model_options_init(&mo, sizeof mo);
    CHECK(mo.allow_tf32 == 0, "allow_tf32 defaults to 0");
    mo.device = "cpu";
    mo.allow_tf32 = 1;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(data_path("t5-v1_1-tiny"), &mo, &m), NT5_OK);
    nt5_embeddings *a = NULL, *b = NULL;
    CHECK_STATUS(nt5_encode_texts(f32_model, prompts, N_PROMPTS, NULL, &a), NT5_OK);
    if (m) CHECK_STATUS(nt5_encode_texts(m, prompts, N_PROMPTS, NULL, &b), NT5_OK);
    if (a && b) {
        size_t bs, s, d;
        nt5_embeddings_shape(a, &bs, &s, &d);
        double err = rel_l2(nt5_embeddings_data(b), nt5_embeddings_data(a), bs * s * d);
        CHECK(err <= 1e-6, "allow_tf32 on the CPU: relative L2 %.3g from fp32", err);
    }
    nt5_embeddings_free(a);
    nt5_embeddings_free(b);
    nt5_model_free(m);
}

int main(void) {
    nt5_model *m = open_model_or_fail(data_path("t5-v1_1-tiny"));
    if (m) {
        check_threads(m);
        check_thread_limits();
        check_streaming_and_cancel(m);
        check_encode_modes(m);
        check_batch_invariance(m);
        check_output_buffers(m);
        check_generate_options(m);
        check_min_tokens_on_backend(m);
        check_teacher_forcing(m);
        check_half_weights(m, NT5_DTYPE_BF16);
        check_half_weights(m, NT5_DTYPE_F16);
        check_tf32_ignored_on_cpu(m);
    }
    nt5_model_free(m);
    check_encoder_only();
    return harness_finish("behaviour");
}
