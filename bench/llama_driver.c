/* llama_driver: times llama.cpp on a T5 GGUF file the way `nt5 bench` times nt5,
 * for bench/cpu_vs_llamacpp.py, and dumps its numbers for bench/quant_accuracy.py.
 *
 * usage: llama_driver --model F.gguf --ids IDS [--threads N] [--new-tokens N]
 *                     [--repeat R] [--warmup W] [--dump-encoder F] [--teacher IDS --dump-logits F]
 *
 * IDS is a text file with one input per line (token ids separated by spaces,
 * </s> included). For each line: W + R runs of llama_encode then N greedy
 * llama_decode steps from the decoder start token (argmax over the logits
 * but </s>, as nt5 bench's and Hugging Face's min_new_tokens = N: every run
 * has N steps), each call timed apart; then, once,
 * with --dump-encoder the encoder output [len, d_model] and with --teacher
 * (one line of decoder ids per input line) the logits [1 + len, vocab] of
 * [start] + those ids in one teacher-forced llama_decode, appended as float32
 * to the dump files. Prints one JSON object on stdout:
 *   {"n_vocab": V, "n_embd": D, "load_ms": x, "inputs": [{"encode_ms": [R],
 *    "step_ms": [[N] x R], "tokens": [N]}, ...]}
 * An encoder-only file (t5encoder) takes --new-tokens 0.
 *
 * Build: cc -O2 llama_driver.c -I LLAMA/include -I LLAMA/ggml/include -L BUILD/bin -lllama -Wl,-rpath,BUILD/bin */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llama.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
    fprintf(stderr, "llama_driver: %s\n", what);
    exit(1);
}

/* Reads up to `max` lines of ids; returns the number of lines, each in lines[i] / lens[i]. */
static int read_ids(const char *path, llama_token **lines, int *lens, int max) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open an ids file");
    static char buf[1 << 20];
    int n = 0;
    while (n < max && fgets(buf, sizeof buf, f)) {
        llama_token *ids = malloc(sizeof *ids * (strlen(buf) / 2 + 1));
        int k = 0;
        for (char *p = buf, *end;; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p) break;
            ids[k++] = (llama_token)v;
        }
        if (k) lines[n] = ids, lens[n++] = k;
        else free(ids);
    }
    fclose(f);
    return n;
}

/* One sequence (id 0) of n tokens at positions pos0.., logits for all when all_logits. */
static void fill_batch(struct llama_batch *b, const llama_token *ids, int n, int pos0, int all_logits) {
    b->n_tokens = n;
    for (int i = 0; i < n; i++) {
        b->token[i] = ids[i];
        b->pos[i] = pos0 + i;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = 0;
        b->logits[i] = all_logits || i == n - 1;
    }
}

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static void write_floats(const char *path, const float *v, size_t n) {
    FILE *f = fopen(path, "ab");
    if (!f || fwrite(v, sizeof *v, n, f) != n || fclose(f)) die("cannot write a dump file");
}

enum { MAX_LINES = 256 };

int main(int argc, char **argv) {
    const char *model_path = NULL, *ids_path = NULL, *teacher_path = NULL, *dump_enc = NULL, *dump_logits = NULL;
    int threads = 2, new_tokens = 64, repeat = 5, warmup = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--model")) model_path = v;
        else if (!strcmp(k, "--ids")) ids_path = v;
        else if (!strcmp(k, "--threads")) threads = atoi(v);
        else if (!strcmp(k, "--new-tokens")) new_tokens = atoi(v);
        else if (!strcmp(k, "--repeat")) repeat = atoi(v);
        else if (!strcmp(k, "--warmup")) warmup = atoi(v);
        else if (!strcmp(k, "--teacher")) teacher_path = v;
        else if (!strcmp(k, "--dump-encoder")) dump_enc = v;
        else if (!strcmp(k, "--dump-logits")) dump_logits = v;
        else die("unknown option (see the comment at the top of llama_driver.c)");
    }
    if (!model_path || !ids_path || repeat < 1 || (teacher_path && !dump_logits)) die("missing option");

    static llama_token *lines[MAX_LINES], *teacher[MAX_LINES];
    static int lens[MAX_LINES], teacher_lens[MAX_LINES];
    int n_lines = read_ids(ids_path, lines, lens, MAX_LINES);
    if (teacher_path && read_ids(teacher_path, teacher, teacher_lens, MAX_LINES) != n_lines)
        die("--teacher needs one line per input line");
    int longest = 1;
    for (int i = 0; i < n_lines; i++) {
        longest = lens[i] > longest ? lens[i] : longest;
        if (teacher_path && teacher_lens[i] + 1 > longest) longest = teacher_lens[i] + 1;
    }
    if (new_tokens + 1 > longest) longest = new_tokens + 1;

    llama_log_set(quiet, NULL);
    llama_backend_init();
    double t0 = now_ms();
    struct llama_model *model = llama_model_load_from_file(model_path, llama_model_default_params());
    if (!model) die("cannot load the model");
    const int decoder = llama_model_has_decoder(model);
    if (!llama_model_has_encoder(model)) die("the model has no encoder");
    if (!decoder && (new_tokens || teacher_path)) die("an encoder-only model takes --new-tokens 0 and no --teacher");

    struct llama_context_params cp = llama_context_default_params();
    /* the encoder takes its whole input in one ubatch; the decoder's cache holds N + 1 positions */
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)longest;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.no_perf = true;
    if (!decoder) { /* t5encoder: the encoder output is read as per-token embeddings */
        cp.embeddings = true;
        cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
    }
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) die("cannot create a context");
    double load_ms = now_ms() - t0;
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model)), n_embd = llama_model_n_embd(model);
    const llama_token start = llama_model_decoder_start_token(model);
    const llama_token eos = llama_vocab_eos(llama_model_get_vocab(model));
    struct llama_batch batch = llama_batch_init(longest, 0, 1);

    printf("{\"n_vocab\": %d, \"n_embd\": %d, \"load_ms\": %.3f, \"inputs\": [", n_vocab, n_embd, load_ms);
    llama_token *tokens = malloc(sizeof *tokens * (size_t)(new_tokens + 1));
    double *step_ms = malloc(sizeof *step_ms * (size_t)(new_tokens + 1) * (size_t)repeat),
           *enc_ms = malloc(sizeof *enc_ms * (size_t)repeat);
    for (int line = 0; line < n_lines; line++) {
        for (int r = -warmup; r < repeat; r++) {
            llama_memory_clear(llama_get_memory(ctx), true);
            fill_batch(&batch, lines[line], lens[line], 0, 1); /* the encoder outputs every position */
            double t = now_ms();
            if (llama_encode(ctx, batch)) die("llama_encode failed");
            if (r >= 0) enc_ms[r] = now_ms() - t;
            tokens[0] = start;
            for (int s = 0; s < new_tokens; s++) {
                t = now_ms();
                fill_batch(&batch, &tokens[s], 1, s, 0);
                if (llama_decode(ctx, batch)) die("llama_decode failed");
                const float *logits = llama_get_logits_ith(ctx, -1);
                int best = eos == 0;
                for (int v = best + 1; v < n_vocab; v++) best = v != eos && logits[v] > logits[best] ? v : best;
                tokens[s + 1] = best;
                if (r >= 0) step_ms[(size_t)r * (size_t)new_tokens + (size_t)s] = now_ms() - t;
            }
        }
        printf("%s{\"encode_ms\": [", line ? ", " : "");
        for (int r = 0; r < repeat; r++) printf("%s%.4f", r ? ", " : "", enc_ms[r]);
        printf("], \"step_ms\": [");
        for (int r = 0; r < repeat; r++) {
            printf("%s[", r ? ", " : "");
            for (int s = 0; s < new_tokens; s++)
                printf("%s%.4f", s ? ", " : "", step_ms[(size_t)r * (size_t)new_tokens + (size_t)s]);
            printf("]");
        }
        printf("], \"tokens\": [");
        for (int s = 0; s < new_tokens; s++) printf("%s%d", s ? ", " : "", tokens[s + 1]);
        printf("]}");

        if (dump_enc || teacher_path) { /* one more encode, kept for the dumps */
            llama_memory_clear(llama_get_memory(ctx), true);
            fill_batch(&batch, lines[line], lens[line], 0, 1);
            if (llama_encode(ctx, batch)) die("llama_encode failed");
            if (dump_enc) write_floats(dump_enc, llama_get_embeddings(ctx), (size_t)lens[line] * (size_t)n_embd);
        }
        if (teacher_path) {
            int n = teacher_lens[line] + 1;
            llama_token *dec = malloc(sizeof *dec * (size_t)n);
            dec[0] = start;
            memcpy(dec + 1, teacher[line], sizeof *dec * (size_t)teacher_lens[line]);
            fill_batch(&batch, dec, n, 0, 1);
            if (llama_decode(ctx, batch)) die("teacher-forced llama_decode failed");
            for (int i = 0; i < n; i++) write_floats(dump_logits, llama_get_logits_ith(ctx, i), (size_t)n_vocab);
            free(dec);
        }
    }
    printf("]}\n");
    free(tokens);
    free(step_ms);
    free(enc_ms);
    for (int i = 0; i < n_lines; i++) free(lines[i]), free(teacher_path ? teacher[i] : NULL);
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
