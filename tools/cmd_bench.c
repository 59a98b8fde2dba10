/* nt5 bench: times encode and generate on random-weight models of real
 * shapes, without any download. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NT5_EXPERIMENTAL
#include "cli.h"
#include "nt5_experimental.h"

static const char help[] =
    "usage: nt5 bench [--preset NAME | --config CONFIG.json | --model DIR] [options]\n"
    "Builds a model with random weights (or opens DIR) and times the encoder and\n"
    "greedy/beam decoding. Inputs are token ids 3 + (i * 7919) % 30000 % (vocab - 3), </s> last.\n"
    "  --preset NAME      t5-v1_1-small (default), t5-v1_1-base, t5-v1_1-large, t5-v1_1-xl,\n"
    "                     t5-v1_1-xxl, flan-t5-small, flan-t5-base, flan-t5-large, flan-t5-xl,\n"
    "                     flan-t5-xxl, t5-small, t5-base, mt5-small, mt5-base, umt5-small, umt5-xxl\n"
    "  --batch B (1)      --seq-len L (512)      --new-tokens N (64)     --num-beams K (1)\n"
    "  --repeat R (5)     --warmup W (1)         --encode-only           --json\n"
    "  --weight-dtype auto|f32|bf16|f16|q8_0|q6_k|q5_k|q4_k  storage of the weight matrices (default auto)\n"
    "  --tf32                   f32 weights on a GPU: TF32 products (faster, about 1e-3 relative)\n"
    "  --device D, --threads N\n";

typedef struct preset {
    const char *name, *type, *ffn;
    int d_model, d_kv, d_ff, heads, layers, vocab, tie;
} preset;

static const preset presets[] = {
    {"t5-v1_1-small", "t5", "gated-gelu", 512, 64, 1024, 6, 8, 32128, 0},
    {"t5-v1_1-base", "t5", "gated-gelu", 768, 64, 2048, 12, 12, 32128, 0},
    {"t5-v1_1-large", "t5", "gated-gelu", 1024, 64, 2816, 16, 24, 32128, 0},
    {"t5-v1_1-xl", "t5", "gated-gelu", 2048, 64, 5120, 32, 24, 32128, 0},
    {"t5-v1_1-xxl", "t5", "gated-gelu", 4096, 64, 10240, 64, 24, 32128, 0},
    {"flan-t5-small", "t5", "gated-gelu", 512, 64, 1024, 6, 8, 32128, 0},
    {"flan-t5-base", "t5", "gated-gelu", 768, 64, 2048, 12, 12, 32128, 0},
    {"flan-t5-large", "t5", "gated-gelu", 1024, 64, 2816, 16, 24, 32128, 0},
    {"flan-t5-xl", "t5", "gated-gelu", 2048, 64, 5120, 32, 24, 32128, 0},
    {"flan-t5-xxl", "t5", "gated-gelu", 4096, 64, 10240, 64, 24, 32128, 0},
    {"t5-small", "t5", "relu", 512, 64, 2048, 8, 6, 32128, 1},
    {"t5-base", "t5", "relu", 768, 64, 3072, 12, 12, 32128, 1},
    {"mt5-small", "mt5", "gated-gelu", 512, 64, 1024, 6, 8, 250112, 0},
    {"mt5-base", "mt5", "gated-gelu", 768, 64, 2048, 12, 12, 250112, 0},
    {"umt5-small", "umt5", "gated-gelu", 512, 64, 1024, 6, 8, 256384, 0},
    {"umt5-xxl", "umt5", "gated-gelu", 4096, 64, 10240, 64, 24, 256384, 0},
};

static char *preset_config(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const preset *p = &presets[i];
        if (strcmp(p->name, name) != 0) continue;
        char *json = malloc(1024);
        if (json)
            snprintf(json, 1024,
                     "{\"model_type\": \"%s\", \"feed_forward_proj\": \"%s\", \"d_model\": %d, \"d_kv\": %d, "
                     "\"d_ff\": %d, \"num_heads\": %d, \"num_layers\": %d, \"vocab_size\": %d, "
                     "\"tie_word_embeddings\": %s}",
                     p->type, p->ffn, p->d_model, p->d_kv, p->d_ff, p->heads, p->layers, p->vocab,
                     p->tie ? "true" : "false");
        return json;
    }
    fprintf(stderr, "nt5 bench: unknown preset \"%s\" (see nt5 bench --help)\n", name);
    return NULL;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nt5 bench: cannot open %s\n", path);
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct bench_shape {
    long batch, seq, new_tokens, beams, repeat, warmup;
} bench_shape;

/* Median ms of `repeat` runs of encode (gen == NULL) or generate. */
static int time_runs(nt5_model *m, const bench_shape *s, const int32_t *ids, const size_t *lengths,
                     const nt5_generate_options *gen, double *ms) {
    double *t = calloc((size_t)s->repeat, sizeof *t);
    if (!t) return 1;
    for (long r = -s->warmup; r < s->repeat; r++) {
        double t0 = now_ms();
        nt5_status st;
        if (gen) {
            nt5_generation *g = NULL;
            st = nt5_generate_ids(m, ids, lengths, (size_t)s->batch, gen, &g);
            nt5_generation_free(g);
        } else {
            nt5_embeddings *e = NULL;
            st = nt5_encode_ids(m, ids, lengths, (size_t)s->batch, NULL, &e);
            nt5_embeddings_free(e);
        }
        if (st != NT5_OK) {
            free(t);
            return report(gen ? "generate" : "encode", st);
        }
        if (r >= 0) t[r] = now_ms() - t0;
    }
    *ms = median(t, (int)s->repeat);
    free(t);
    return 0;
}

static int parse_shape(cli_args *a, bench_shape *s) {
    const struct {
        const char *name;
        long *dst, min, max;
    } opts[] = {
        {"--batch", &s->batch, 1, 4096},
        {"--seq-len", &s->seq, 1, 1 << 16},
        {"--new-tokens", &s->new_tokens, 1, 65536},
        {"--num-beams", &s->beams, 1, 64},
        {"--repeat", &s->repeat, 1, 10000},
        {"--warmup", &s->warmup, 0, 1000},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = args_value(a, opts[i].name);
        if (v && parse_int(v, opts[i].name, opts[i].min, opts[i].max, opts[i].dst)) return 2;
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    char *config = NULL;
    int32_t *ids = NULL;
    size_t *lengths = NULL;
    nt5_model *m = NULL;
    bench_shape s = {1, 512, 64, 1, 5, 1};
    const char *name = args_value(&a, "--preset"), *config_path = args_value(&a, "--config");
    const char *model_dir = args_value(&a, "--model");
    int json = args_flag(&a, "--json"), encode_only = args_flag(&a, "--encode-only");
    if ((rc = parse_shape(&a, &s))) goto done;
    if (!model_dir) {
        config = config_path ? read_text(config_path) : preset_config(name ? name : "t5-v1_1-small");
        if (!config) {
            rc = 2;
            goto done;
        }
    }
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.device = args_value(&a, "--device");
    o.allow_tf32 = args_flag(&a, "--tf32");
    const char *threads = args_value(&a, "--threads"), *weight_dtype = args_value(&a, "--weight-dtype");
    long th = 0;
    if ((threads && parse_int(threads, "--threads", 0, 4096, &th)) || (rc = args_finish(&a, "bench"))) {
        rc = 2;
        goto done;
    }
    o.num_threads = (int32_t)th;
    o.encoder_only = encode_only;
    if (weight_dtype && parse_dtype(weight_dtype, "--weight-dtype", DTYPE_F16 | DTYPE_BLOCKS, &o.weight_dtype)) {
        rc = 2;
        goto done;
    }
    nt5_status st = model_dir ? nt5_model_open(model_dir, &o, &m) : nt5_model_open_random(config, 1234, &o, &m);
    if (st != NT5_OK) {
        rc = report(model_dir ? model_dir : "building the model", st);
        goto done;
    }
    nt5_model_info info = {.struct_size = sizeof info};
    nt5_model_get_info(m, &info);
    ids = malloc((size_t)(s.batch * s.seq) * sizeof *ids);
    lengths = malloc((size_t)s.batch * sizeof *lengths);
    if (!ids || !lengths) {
        rc = 1;
        goto done;
    }
    for (long i = 0; i < s.batch * s.seq; i++) ids[i] = 3 + (int32_t)((i * 7919) % 30000 % (info.vocab_size - 3));
    for (long b = 0; b < s.batch; b++) lengths[b] = (size_t)s.seq, ids[(b + 1) * s.seq - 1] = info.eos_token_id;
    double enc_ms = 0, gen_ms = 0;
    if ((rc = time_runs(m, &s, ids, lengths, NULL, &enc_ms))) goto done;
    nt5_generate_options g;
    nt5_generate_options_init(&g, sizeof g);
    g.max_new_tokens = g.min_new_tokens = (int32_t)s.new_tokens; /* a fixed number of steps */
    g.num_beams = (int32_t)s.beams;
    if (!encode_only && (rc = time_runs(m, &s, ids, lengths, &g, &gen_ms))) goto done;
    double per_token = encode_only ? 0 : (gen_ms - enc_ms) / (double)s.new_tokens;
    const char *label = model_dir ? model_dir : config_path ? config_path : name ? name : "t5-v1_1-small";
    if (json)
        printf(
            "{\"model\": \"%s\", \"weight_dtype\": \"%s\", \"threads\": %d, \"batch\": %ld, \"seq_len\": %ld, \"encode_ms\": %.3f, "
            "\"new_tokens\": %ld, \"num_beams\": %ld, \"generate_ms\": %.3f, \"decode_ms_per_token\": %.4f}\n",
            label, dtype_name(info.weight_dtype), info.num_threads, s.batch, s.seq, enc_ms,
            encode_only ? 0 : s.new_tokens, s.beams, gen_ms, per_token);
    else {
        printf("%s, %d threads, batch %ld x %ld tokens\n  encode   %10.2f ms (median of %ld)\n", label,
               info.num_threads, s.batch, s.seq, enc_ms, s.repeat);
        if (!encode_only)
            printf("  generate %10.2f ms for %ld new tokens, beams %ld: %.3f ms/token after the encoder\n", gen_ms,
                   s.new_tokens, s.beams, per_token);
    }
done:
    nt5_model_free(m);
    free(ids);
    free(lengths);
    free(config);
    args_free(&a);
    return rc;
}
