#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char help[] =
    "usage: nt5 generate MODEL_DIR TEXT [TEXT ...] [options]\n"
    "Generates text for each TEXT; a single greedy or sampled text is streamed.\n"
    "  --max-new-tokens N (64)   --min-new-tokens N (0)\n"
    "  --num-beams K (1)         --num-return-sequences N (1)   --length-penalty X (1.0)\n"
    "  --early-stopping          --sample   --temperature X (1.0)   --top-k N   --top-p X\n"
    "  --seed N (0..2^64-1; default with --sample: a fresh one, in --json and with --verbose)\n"
    "  --repetition-penalty X (1.0)   --no-repeat-ngram-size N\n"
    "  --max-length N            input tokens per text including </s> (default: the model's 512)\n"
    "  --no-truncation           fail on texts longer than --max-length\n"
    "  --no-stream               --ids (print token ids too)    --json    --verbose\n"
    "  --device D, --threads N, --weight-dtype auto|f32|bf16|f16|q8_0|q6_k|q5_k|q4_k (f16 on a GPU: from calibrated f16 nt5 files or Hub ids)\n"
    "  --tf32                 f32 weights on a GPU: TF32 products (faster, about 1e-3 relative)\n"
    "  --refuse-non-finite    fail to open a model with NaN or infinite weights\n"
    "  --tokenizer T          a directory with spiece.model, or a spiece.model, instead of the model's\n"
    "  --config F             a config.json: a directory's instead of its own; over what nt5 infers\n"
    "                         for a single .safetensors or .gguf file\n";

typedef struct stream_state {
    int streaming, printed;
} stream_state;

static int32_t on_token(const nt5_token_event *ev, void *user_data) {
    stream_state *s = user_data;
    if (interrupted()) return 1; /* Ctrl-C: the library stops and the command exits 130 */
    if (s->streaming && ev->text[0]) {
        fputs(ev->text, stdout);
        fflush(stdout);
        s->printed = 1;
    }
    return 0;
}

static int number_option(cli_args *a, const char *name, long min, long max, int32_t *out) {
    const char *v = args_value(a, name);
    long x;
    if (!v) return 0;
    if (parse_int(v, name, min, max, &x)) return 2;
    *out = (int32_t)x;
    return 0;
}

static int float_option(cli_args *a, const char *name, float *out) {
    const char *v = args_value(a, name);
    double x;
    if (!v) return 0;
    if (parse_float(v, name, &x)) return 2;
    *out = (float)x;
    return 0;
}

/* A seed nobody chose: from the kernel's random source (the clock if that fails). */
static uint64_t fresh_seed(void) {
    uint64_t seed = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&seed, sizeof seed, 1, f) != 1) seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    if (f) fclose(f);
    return seed;
}

static int parse_seed(const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || end == text || text[0] == '-') {
        fprintf(stderr, "nt5: --seed must be an integer in [0, 18446744073709551615], not \"%s\"\n", text);
        return 2;
    }
    *out = v;
    return 0;
}

static int parse_options(cli_args *a, nt5_generate_options *o) {
    nt5_generate_options_init(o, sizeof *o);
    const char *seed = args_value(a, "--seed");
    if (number_option(a, "--max-new-tokens", 1, 65536, &o->max_new_tokens) ||
        number_option(a, "--min-new-tokens", 0, 65536, &o->min_new_tokens) ||
        number_option(a, "--num-beams", 1, 256, &o->num_beams) ||
        number_option(a, "--num-return-sequences", 1, 256, &o->num_return_sequences) ||
        number_option(a, "--top-k", 0, 1 << 24, &o->top_k) ||
        number_option(a, "--no-repeat-ngram-size", 0, 1 << 16, &o->no_repeat_ngram_size) ||
        number_option(a, "--max-length", 1, 1 << 20, &o->max_input_length) || (seed && parse_seed(seed, &o->seed)) ||
        float_option(a, "--temperature", &o->temperature) || float_option(a, "--top-p", &o->top_p) ||
        float_option(a, "--length-penalty", &o->length_penalty) ||
        float_option(a, "--repetition-penalty", &o->repetition_penalty))
        return 2;
    o->do_sample = args_flag(a, "--sample");
    if (o->do_sample && !seed) o->seed = fresh_seed();
    if (args_flag(a, "--no-truncation")) o->truncation = 0;
    o->early_stopping = args_flag(a, "--early-stopping");
    return 0;
}

static void print_result(const nt5_generation *g, size_t i, int json, int show_ids, const nt5_generate_options *o) {
    const int32_t *ids;
    size_t n;
    const char *text;
    float score;
    nt5_generation_get(g, i, &ids, &n, &text, &score);
    if (json) {
        printf("{\"index\": %zu, \"text\": ", i);
        json_string(stdout, text);
        printf(", \"score\": ");
        json_number(stdout, score, 7);
        printf(", \"ids\": [");
        for (size_t k = 0; k < n; k++) printf(k ? ", %d" : "%d", ids[k]);
        printf("]");
        if (o->do_sample) printf(", \"seed\": %llu", (unsigned long long)o->seed);
        printf("}\n");
        return;
    }
    printf("%s\n", text);
    if (show_ids) {
        printf("  ids:");
        for (size_t k = 0; k < n; k++) printf(" %d", ids[k]);
        printf("  (score %.6g)\n", score);
    }
}

int cmd_generate(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model *m = NULL;
    nt5_generation *g = NULL;
    const char **texts = calloc((size_t)argc + 1, sizeof *texts);
    nt5_generate_options o;
    int json = args_flag(&a, "--json"), no_stream = args_flag(&a, "--no-stream"), show_ids = args_flag(&a, "--ids");
    int verbose = args_flag(&a, "--verbose");
    if ((rc = parse_options(&a, &o))) goto done;
    size_t n = 0;
    if ((rc = model_and_texts(&a, "generate", help, 0, &m, texts, &n))) goto done;
    if (verbose && o.do_sample) fprintf(stderr, "nt5 generate: seed %llu\n", (unsigned long long)o.seed);
    int streaming = n == 1 && o.num_beams == 1 && !json && !no_stream;
    stream_state stream = {streaming, 0};
    o.on_token = on_token;
    o.user_data = &stream;
    nt5_status st = nt5_generate_texts(m, texts, n, &o, &g);
    if (stream.printed) printf("\n");
    if (st != NT5_OK) {
        rc = report("generate", st);
        goto done;
    }
    for (size_t i = 0; i < nt5_generation_count(g); i++) {
        if (streaming && !show_ids) break; /* already printed */
        if (!(streaming && show_ids)) print_result(g, i, json, show_ids, &o);
        else print_result(g, i, 0, 1, &o);
    }
done:
    nt5_generation_free(g);
    nt5_model_free(m);
    free(texts);
    args_free(&a);
    return rc;
}
