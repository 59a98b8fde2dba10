/* nt5 encode --input FILE --output DIR: every caption of a corpus into
 * shards (corpus_shard.h), with an index and a manifest (corpus_output.h).
 *
 * The input is read in windows: a window takes lines until it holds
 * --sort-window captions not seen before (or as many as the current shard
 * has room for), sorts them by token count, longest first, so that each
 * batch of --batch-size pads little, and encodes them; a caption seen before is
 * indexed to its first row. Everything depends only on the input and the
 * options, so a resumed run makes the same shards as an uninterrupted one. */
#include "encode_corpus.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus_batches.h"
#include "corpus_input.h"
#include "corpus_output.h"
#include "corpus_progress.h"
#include "corpus_resume.h"
#include "corpus_shard.h"
#include "corpus_table.h"
#include "growth.h"

#define SHARD_BYTES (1u << 30) /* default shard size: about 1 GiB at the full length */

typedef struct caption { /* a caption of the window, waiting to be encoded */
    int32_t *ids;        /* [n] its tokens, </s> last */
    size_t n;
    uint64_t line;
    unsigned char key[32];
    int64_t row; /* its row in the shard, once encoded */
} caption;

typedef struct entry { /* an input line of the window: its index line to come */
    uint64_t line;
    char sha[65];
    int64_t waiting; /* its caption in the window, or -1 */
    corpus_row row;  /* else its row in an earlier shard */
    char *error;     /* or why it was skipped */
} entry;

typedef struct run {
    const nt5_model *m;
    nt5_encode_options eo;
    size_t d_model, batch_size, sort_window, shard_rows, limit; /* limit: tokens per caption */
    size_t parallel;                                            /* batches encoded at once */
    int32_t eos_id;
    int skip_errors;
    corpus_input in;
    corpus_table table;
    corpus_shard shard;
    corpus_output out;
    corpus_counts counts;
    corpus_progress progress;
    uint64_t shard_first_line;
    caption *waiting;
    size_t n_waiting, waiting_cap;
    entry *entries;
    size_t n_entries, entries_cap;
    int32_t *tokens; /* tokenizer output */
    size_t tokens_cap;
} run;

static int out_of_memory(void) {
    fprintf(stderr, "nt5 encode: out of memory\n");
    return 1;
}

/* Tokenizes text into r->tokens as the encoder would take it (cut to the
 * limit keeping </s>, when truncating); NULL, or the reason it cannot be
 * encoded (into why). */
static const char *tokenize(run *r, const char *text, size_t *n, char *why, size_t cap) {
    nt5_status st;
    while ((st = nt5_tokenize(r->m, text, 0, r->tokens, r->tokens_cap, n)) == NT5_ERR_BUFFER_TOO_SMALL) {
        free(r->tokens);
        r->tokens_cap = *n;
        if (!(r->tokens = malloc(r->tokens_cap * sizeof *r->tokens))) return "out of memory";
    }
    if (st != NT5_OK) return snprintf(why, cap, "%s", nt5_last_error()), why;
    if (*n <= r->limit) return NULL;
    if (!r->eo.truncation)
        return snprintf(why, cap, "%zu tokens, more than --max-length %zu (--no-truncation)", *n, r->limit), why;
    *n = r->limit;
    r->tokens[*n - 1] = r->eos_id; /* as Hugging Face's tokenizer truncates */
    return NULL;
}

/* Notes a line that holds no caption to encode: fails the run, or (--on-error
 * skip) indexes it with the reason. */
static int bad_line(run *r, entry *e, const char *why) {
    fprintf(stderr, "nt5 encode: %s line %" PRIu64 ": %s%s\n", r->in.name, e->line, why,
            r->skip_errors ? " (skipped)" : "");
    if (!r->skip_errors) return 1;
    return (e->error = strdup(why)) ? 0 : out_of_memory();
}

/* One input line into the window. */
static int take_line(run *r, const char *text, const char *error) {
    if (grow_array(&r->entries, &r->entries_cap, r->n_entries + 1, sizeof *r->entries)) return out_of_memory();
    entry *e = &r->entries[r->n_entries++];
    memset(e, 0, sizeof *e);
    e->line = r->in.line_no;
    e->waiting = -1;
    if (!text) return bad_line(r, e, error);
    unsigned char key[32];
    sha256_text(text, key, e->sha);
    const corpus_row *seen = corpus_table_find(&r->table, key);
    if (seen) {
        if (seen->shard < 0) e->waiting = seen->row;
        else e->row = *seen;
        return 0;
    }
    char why[512];
    size_t n = 0;
    const char *bad = tokenize(r, text, &n, why, sizeof why);
    if (bad) return bad_line(r, e, bad);
    if (grow_array(&r->waiting, &r->waiting_cap, r->n_waiting + 1, sizeof *r->waiting)) return out_of_memory();
    caption *c = &r->waiting[r->n_waiting];
    if (!(c->ids = malloc(n * sizeof *c->ids))) return out_of_memory();
    memcpy(c->ids, r->tokens, n * sizeof *c->ids);
    c->n = n;
    c->line = e->line;
    memcpy(c->key, key, 32);
    e->waiting = (int64_t)r->n_waiting;
    if (corpus_table_add(&r->table, key, (corpus_row){-1, e->waiting, (int64_t)n})) return out_of_memory();
    r->n_waiting++;
    return 0;
}

/* Reads lines until the window is full or the input ends (*end set). */
static int fill_window(run *r, int *end) {
    size_t room = r->shard_rows - r->shard.rows, want = r->sort_window < room ? r->sort_window : room;
    while (r->n_waiting < want) {
        const char *text, *error;
        int got = corpus_input_next(&r->in, &text, &error);
        if (got <= 0) {
            *end = 1;
            return got < 0;
        }
        int rc = take_line(r, text, error);
        if (rc) return rc;
    }
    return 0;
}

/* The longest captions first: batches taken in that order end a window
 * with short ones, so threads wait little for the last. */
static int longest_first(const void *a, const void *b) {
    const caption *x = *(caption *const *)a, *y = *(caption *const *)b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Adds an encoded batch of captions order[0..n) to the shard. */
static int store_batch(run *r, caption **order, size_t n, const corpus_batch *b) {
    if (b->status != NT5_OK) return report_message("encode", b->status, b->error);
    size_t seq = 0;
    nt5_embeddings_shape(b->result, NULL, &seq, NULL);
    size_t row_bytes = seq * r->d_model * r->shard.elem;
    for (size_t i = 0; i < n; i++) {
        /* positions past a row's length depend on its batch unless every row is padded alike */
        size_t stored = r->eo.padding == NT5_PADDING_MAX_LENGTH ? seq : b->lengths[i];
        const unsigned char *hidden = (const unsigned char *)nt5_embeddings_data(b->result) + i * row_bytes;
        if (corpus_shard_add(&r->shard, hidden, nt5_embeddings_token_ids(b->result) + i * seq, stored, b->lengths[i]))
            return out_of_memory();
        order[i]->row = (int64_t)r->shard.rows - 1;
        corpus_row *where = corpus_table_find(&r->table, order[i]->key);
        where->shard = (int64_t)r->out.shards;
        where->row = order[i]->row;
        r->counts.tokens += b->lengths[i];
    }
    return 0;
}

typedef struct window_batches { /* a window's captions in length order, cut into batches */
    run *r;
    caption **order; /* [n_waiting] */
    int32_t *ids;    /* every caption's tokens, in that order */
    size_t *lengths; /* [n_waiting] */
    corpus_batch *batches;
    double first_line, lines; /* progress: the window's first line and its lines */
} window_batches;

/* corpus_batch_done: batch i into the shard, then the progress */
static int batch_done(void *ctx, corpus_batch *b, size_t i) {
    window_batches *w = ctx;
    run *r = w->r;
    size_t first = i * r->batch_size;
    int rc = store_batch(r, w->order + first, b->n, b);
    corpus_progress_update(&r->progress, w->first_line + w->lines * (double)(first + b->n) / (double)r->n_waiting,
                           r->counts.tokens);
    return rc ? rc : interrupted() ? 130 : 0;
}

/* Lays the sorted captions out as batches of --batch-size. */
static int cut_batches(window_batches *w, size_t count) {
    run *r = w->r;
    size_t total = 0;
    for (size_t i = 0; i < r->n_waiting; i++) total += w->order[i]->n;
    w->ids = malloc((total ? total : 1) * sizeof *w->ids);
    w->lengths = malloc((r->n_waiting ? r->n_waiting : 1) * sizeof *w->lengths);
    w->batches = calloc(count ? count : 1, sizeof *w->batches);
    if (!w->ids || !w->lengths || !w->batches) return out_of_memory();
    for (size_t i = 0, at = 0; i < r->n_waiting; at += w->order[i++]->n) {
        corpus_batch *b = &w->batches[i / r->batch_size];
        if (b->n++ == 0) { /* its first caption */
            b->ids = w->ids + at;
            b->lengths = w->lengths + i;
        }
        memcpy(w->ids + at, w->order[i]->ids, w->order[i]->n * sizeof *w->ids);
        w->lengths[i] = w->order[i]->n;
    }
    return 0;
}

/* Queues the window's index lines, in input order. */
static int index_window(run *r) {
    char line[256];
    for (size_t i = 0; i < r->n_entries; i++) {
        entry *e = &r->entries[i];
        corpus_row row = e->row;
        if (e->waiting >= 0)
            row = (corpus_row){(int64_t)r->out.shards, r->waiting[e->waiting].row, (int64_t)r->waiting[e->waiting].n};
        char *text = line;
        if (e->error) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "line", (double)e->line);
            cJSON_AddStringToObject(o, "error", e->error);
            text = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            r->counts.skipped++;
        } else {
            snprintf(line, sizeof line,
                     "{\"line\":%" PRIu64 ",\"sha256\":\"%s\",\"shard\":%" PRId64 ",\"row\":%" PRId64
                     ",\"length\":%" PRId64 "}",
                     e->line, e->sha, row.shard, row.row, row.length);
            if (e->waiting >= 0 && r->waiting[e->waiting].line == e->line) r->counts.encoded++;
            else r->counts.duplicates++;
        }
        int rc = !text || corpus_index_queue(&r->out, text);
        if (text != line) free(text);
        if (rc) return out_of_memory();
    }
    r->counts.lines += r->n_entries;
    return 0;
}

static void clear_window(run *r) {
    for (size_t i = 0; i < r->n_waiting; i++) free(r->waiting[i].ids);
    for (size_t i = 0; i < r->n_entries; i++) free(r->entries[i].error);
    r->n_waiting = r->n_entries = 0;
}

/* Sorts the window's captions by length and encodes them in batches,
 * --parallel-batches at once, then queues their index lines. */
static int encode_window(run *r) {
    window_batches w = {.r = r, .first_line = (double)r->counts.lines, .lines = (double)r->n_entries};
    size_t count = (r->n_waiting + r->batch_size - 1) / r->batch_size;
    int rc = 0;
    if (!(w.order = malloc((r->n_waiting ? r->n_waiting : 1) * sizeof *w.order))) rc = out_of_memory();
    for (size_t i = 0; !rc && i < r->n_waiting; i++) w.order[i] = &r->waiting[i];
    if (!rc) {
        qsort(w.order, r->n_waiting, sizeof *w.order, longest_first);
        rc = cut_batches(&w, count);
    }
    /* padded positions are not stored when padding to the longest: zeroed, the library does not compute them */
    nt5_encode_options eo = r->eo;
    eo.zero_padding |= eo.padding == NT5_PADDING_LONGEST;
    if (!rc) rc = interrupted() ? 130 : corpus_encode_batches(r->m, &eo, w.batches, count, r->parallel, batch_done, &w);
    free(w.batches);
    free(w.lengths);
    free(w.ids);
    free(w.order);
    return rc ? rc : index_window(r);
}

/* Writes the shard gathered: its index lines first (see corpus_output.h). */
static int write_shard(run *r, uint64_t end_line) {
    char path[4200];
    corpus_shard_path(&r->out, r->out.shards, path, sizeof path);
    if (corpus_index_flush(&r->out) || corpus_shard_write(&r->shard, path, r->shard_first_line, end_line)) return 1;
    r->out.shards++;
    r->shard_first_line = end_line;
    return 0;
}

static int encode_all(run *r) {
    int end = 0, rc = 0;
    while (!rc && !end) {
        rc = fill_window(r, &end);
        if (!rc) rc = encode_window(r);
        clear_window(r);
        if (!rc && r->shard.rows && (r->shard.rows == r->shard_rows || end)) rc = write_shard(r, r->in.line_no + 1);
    }
    /* lines after the last shard (repeats, skipped ones) */
    if (!rc && r->out.pending_len) rc = corpus_index_flush(&r->out);
    return rc;
}

static cJSON *totals(const run *r, double seconds) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "lines", (double)r->counts.lines);
    cJSON_AddNumberToObject(t, "encoded", (double)r->counts.encoded);
    cJSON_AddNumberToObject(t, "duplicates", (double)r->counts.duplicates);
    cJSON_AddNumberToObject(t, "skipped", (double)r->counts.skipped);
    cJSON_AddNumberToObject(t, "tokens", (double)r->counts.tokens);
    cJSON_AddNumberToObject(t, "shards", (double)r->out.shards);
    cJSON_AddNumberToObject(t, "seconds", seconds);
    return t;
}

static void summarise(const run *r, double seconds, uint64_t resumed_lines, uint64_t resumed_tokens, int json) {
    double captions = (double)(r->counts.lines - resumed_lines), tokens = (double)(r->counts.tokens - resumed_tokens);
    double per_s = seconds > 0 ? captions / seconds : 0, tokens_per_s = seconds > 0 ? tokens / seconds : 0;
    if (json) {
        cJSON *t = totals(r, seconds);
        cJSON_AddStringToObject(t, "output", r->out.dir);
        cJSON_AddNumberToObject(t, "resumed_after_lines", (double)resumed_lines);
        cJSON_AddNumberToObject(t, "captions_per_s", per_s);
        cJSON_AddNumberToObject(t, "tokens_per_s", tokens_per_s);
        char *text = cJSON_PrintUnformatted(t);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(t);
        return;
    }
    printf("encoded %s: %" PRIu64 " lines (%" PRIu64 " distinct captions, %" PRIu64 " repeats, %" PRIu64
           " skipped) into %" PRIu64 " shards, %" PRIu64 " tokens; %.1f captions/s, %.0f tokens/s\n",
           r->out.dir, r->counts.lines, r->counts.encoded, r->counts.duplicates, r->counts.skipped, r->out.shards,
           r->counts.tokens, per_s, tokens_per_s);
}

/* The Hub commit of a model reference that is no local path (NULL for a
 * path): the files are fetched first, and the model is then opened at that
 * commit, so that the manifest names exactly what was encoded with. */
static int hub_commit(const char *ref, nt5_model_options *mo, char commit[41]) {
    struct stat st;
    commit[0] = '\0';
    if (stat(ref, &st) == 0) return 0;
    char dir[4096];
    size_t len = 0;
    progress_bar bar;
    progress_attach(mo, &bar);
    nt5_status s = nt5_hub_download(ref, mo, dir, sizeof dir, &len);
    progress_end(&bar);
    if (s != NT5_OK) return report(ref, s);
    const char *at = strstr(dir, "/snapshots/");
    if (at && strlen(at + 11) >= 40) {
        memcpy(commit, at + 11, 40);
        commit[40] = '\0';
        mo->revision = commit;
    }
    return 0;
}

static cJSON *identity(const run *r, const char *ref, const char *commit, const char *preset, const char *field,
                       const nt5_model_info *info) {
    cJSON *id = cJSON_CreateObject(), *o = cJSON_CreateObject();
    cJSON_AddStringToObject(id, "nt5_version", nt5_version());
    cJSON_AddStringToObject(id, "model", ref);
    if (commit[0]) cJSON_AddStringToObject(id, "model_commit", commit);
    else cJSON_AddNullToObject(id, "model_commit");
    if (preset) cJSON_AddStringToObject(o, "preset", preset);
    cJSON_AddStringToObject(o, "padding", r->eo.padding == NT5_PADDING_MAX_LENGTH ? "max_length" : "longest");
    cJSON_AddNumberToObject(o, "max_length", (double)r->limit);
    cJSON_AddBoolToObject(o, "truncation", r->eo.truncation);
    cJSON_AddStringToObject(o, "attention", r->eo.attention == NT5_ATTEND_ALL ? "all" : "masked");
    cJSON_AddBoolToObject(o, "zero_padding", r->eo.zero_padding);
    cJSON_AddStringToObject(o, "dtype", dtype_name(r->eo.output_dtype));
    if (field) cJSON_AddStringToObject(o, "field", field);
    cJSON_AddNumberToObject(o, "sort_window", (double)r->sort_window);
    cJSON_AddNumberToObject(o, "shard_size", (double)r->shard_rows);
    cJSON_AddNumberToObject(o, "batch_size", (double)r->batch_size);
    if (info->device == NT5_DEVICE_CPU) /* the bits follow a call's threads (nt5_encode_options.num_threads) */
        cJSON_AddNumberToObject(o, "threads_per_batch", (double)r->eo.num_threads);
    cJSON_AddStringToObject(o, "weight_dtype", dtype_name(info->weight_dtype));
    cJSON_AddStringToObject(o, "device", info->device == NT5_DEVICE_CUDA ? "cuda" : "cpu");
    cJSON_AddItemToObject(id, "options", o);
    return id;
}

typedef struct corpus_args {
    const char *input, *output, *field, *on_error;
    long batch_size, sort_window, shard_size, parallel; /* parallel: 0 = the default */
    int json, quiet;
} corpus_args;

static int read_args(cli_args *a, const char *input, corpus_args *c) {
    memset(c, 0, sizeof *c);
    c->input = input;
    c->output = args_value(a, "--output");
    if (!c->output) c->output = args_value(a, "-o");
    c->field = args_value(a, "--field");
    c->on_error = args_value(a, "--on-error");
    const char *batch = args_value(a, "--batch-size"), *window = args_value(a, "--sort-window"),
               *shard = args_value(a, "--shard-size"), *parallel = args_value(a, "--parallel-batches");
    c->batch_size = 16;
    c->sort_window = 1024;
    c->json = args_flag(a, "--json");
    c->quiet = args_flag(a, "--quiet");
    if ((batch && parse_int(batch, "--batch-size", 1, 1 << 16, &c->batch_size)) ||
        (window && parse_int(window, "--sort-window", 1, 1 << 24, &c->sort_window)) ||
        (shard && parse_int(shard, "--shard-size", 1, 1L << 40, &c->shard_size)) ||
        (parallel && parse_int(parallel, "--parallel-batches", 1, 4096, &c->parallel)))
        return 2;
    if (!c->output) {
        fprintf(stderr, "nt5 encode: --input needs --output DIR (where the shards go)\n");
        return 2;
    }
    if (c->on_error && strcmp(c->on_error, "fail") != 0 && strcmp(c->on_error, "skip") != 0) {
        fprintf(stderr, "nt5 encode: --on-error must be fail or skip, not \"%s\"\n", c->on_error);
        return 2;
    }
    return 0;
}

/* The run's settings from the options and the opened model. */
static int configure(run *r, const corpus_args *c, const nt5_encode_options *o, const nt5_model_info *info) {
    r->eo = *o;
    if (o->padding == NT5_PADDING_LONGEST && o->attention == NT5_ATTEND_ALL) {
        fprintf(stderr,
                "nt5 encode: --no-mask with padding to the longest would make each caption's hidden "
                "states depend on the captions batched with it; add --pad-to-max (or use a preset)\n");
        return 2;
    }
    if (info->tokenizer_size == 0) {
        fprintf(stderr, "nt5 encode: the model has no tokenizer (--tokenizer names one)\n");
        return 2;
    }
    r->d_model = (size_t)info->d_model;
    r->limit = (size_t)(o->max_length ? o->max_length : info->max_input_length);
    r->eos_id = info->eos_token_id;
    r->batch_size = (size_t)c->batch_size;
    r->sort_window = (size_t)c->sort_window;
    size_t row_bytes = r->limit * r->d_model * (o->output_dtype == NT5_DTYPE_F32 ? 4 : 2);
    r->shard_rows = c->shard_size ? (size_t)c->shard_size : SHARD_BYTES / row_bytes ? SHARD_BYTES / row_bytes : 1;
    size_t window = r->sort_window < r->shard_rows ? r->sort_window : r->shard_rows;
    r->parallel = c->parallel ? (size_t)c->parallel
                              : corpus_default_parallel(info, r->batch_size, r->limit,
                                                        (window + r->batch_size - 1) / r->batch_size);
    if (info->device == NT5_DEVICE_CPU) { /* each batch on its share of the model's threads */
        size_t share = (size_t)info->num_threads / r->parallel;
        r->eo.num_threads = share ? (int32_t)share : 1;
    }
    r->skip_errors = c->on_error && strcmp(c->on_error, "skip") == 0;
    corpus_shard_init(&r->shard, o->output_dtype, r->d_model, info->pad_token_id);
    return corpus_table_init(&r->table) ? out_of_memory() : 0;
}

static void run_free(run *r) {
    clear_window(r);
    free(r->waiting);
    free(r->entries);
    free(r->tokens);
    corpus_shard_free(&r->shard);
    corpus_table_free(&r->table);
    corpus_output_close(&r->out);
    corpus_input_close(&r->in);
}

/* Opens the output (new or resumed) and the input, and encodes the rest. */
static int run_corpus(run *r, const corpus_args *c, cJSON *id) {
    int rc = corpus_output_open(&r->out, c->output, id);
    if (rc == 3) {
        if (!c->quiet) printf("%s: this run is complete already\n", c->output);
        return 0;
    }
    if (rc || (rc = corpus_input_open(&r->in, c->input, c->field)) ||
        (rc = corpus_resume(&r->out, &r->in, &r->table, &r->counts)))
        return rc;
    uint64_t resumed_lines = r->counts.lines, resumed_tokens = r->counts.tokens;
    r->shard_first_line = resumed_lines + 1;
    if (resumed_lines && !c->quiet)
        fprintf(stderr, "nt5 encode: resuming %s after line %" PRIu64 " (%" PRIu64 " complete shards)\n", c->output,
                resumed_lines, r->out.shards);
    interrupt_catch();
    corpus_progress_start(&r->progress, corpus_input_count(c->input), resumed_lines, c->quiet);
    rc = encode_all(r);
    corpus_progress_end(&r->progress);
    double seconds = now_seconds() - r->progress.start;
    if (rc == 130)
        fprintf(stderr, "nt5 encode: stopped; %" PRIu64 " lines are in complete shards: the same command resumes\n",
                r->shard_first_line - 1);
    if (rc) return rc;
    if (corpus_output_complete(&r->out, totals(r, seconds))) return 1;
    summarise(r, seconds, resumed_lines, resumed_tokens, c->json);
    return 0;
}

int encode_corpus(cli_args *a, const char *help, const char *input, const nt5_encode_options *o, const char *preset) {
    corpus_args c;
    nt5_model_options mo;
    int rc = read_args(a, input, &c);
    if (!rc) rc = model_flags(a, 1, &mo);
    if (rc) return rc;
    const char *ref = args_positional(a);
    if (!ref) {
        fputs(help, stderr);
        return 2;
    }
    char commit[41];
    nt5_model *m = NULL;
    if ((rc = args_finish(a, "encode")) || (rc = hub_commit(ref, &mo, commit)) || (rc = open_model(ref, &mo, &m)))
        return rc;
    run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    nt5_model_info info = {.struct_size = sizeof info};
    nt5_model_get_info(m, &info);
    if (!(rc = configure(&r, &c, o, &info))) rc = run_corpus(&r, &c, identity(&r, ref, commit, preset, c.field, &info));
    run_free(&r);
    nt5_model_free(m);
    return rc;
}
