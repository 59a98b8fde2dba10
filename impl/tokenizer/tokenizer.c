#include "tokenizer/tokenizer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json_file.h"
#include "tokenizer/spm_shim.h"
#include "base/utf8.h"

#define SPIECE_UNDERLINE "\xe2\x96\x81" /* U+2581 */
#define T5_PAD 0
#define T5_EOS 1
#define T5_UNK 2
#define T5_EXTRA_IDS 100

struct tokenizer {
    spm_model *sp;
    int pieces, extra_ids, max_length;
    char *spiece; /* the serialized model */
    size_t spiece_len;
};

int tok_size(const tokenizer *t) { return t->pieces + t->extra_ids; }
int tok_max_length(const tokenizer *t) { return t->max_length; }
int tok_extra_ids(const tokenizer *t) { return t->extra_ids; }

const void *tok_spiece_bytes(const tokenizer *t, size_t *len) {
    *len = t->spiece_len;
    return t->spiece;
}

int tok_is_special(const tokenizer *t, int32_t id) {
    return id == T5_PAD || id == T5_EOS || id == T5_UNK || (id >= t->pieces && id < tok_size(t));
}

static nt5_status read_tokenizer_config(const char *dir, tokenizer *t) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (access(path, F_OK) != 0) return NT5_OK;
    cJSON *root;
    nt5_status st = json_read_file(path, &root);
    if (st != NT5_OK) return st;
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(root, "extra_ids");
    const cJSON *maxlen = cJSON_GetObjectItemCaseSensitive(root, "model_max_length");
    if (cJSON_IsNumber(extra)) {
        if (extra->valuedouble < 0 || extra->valuedouble > 10000)
            st = err_set(NT5_ERR_FORMAT, "%s: extra_ids must be in [0, 10000]", path);
        else t->extra_ids = extra->valueint;
    }
    /* Hugging Face writes a huge sentinel when there is no limit */
    if (cJSON_IsNumber(maxlen) && maxlen->valuedouble >= 1 && maxlen->valuedouble <= 1e6)
        t->max_length = (int)maxlen->valuedouble;
    cJSON_Delete(root);
    return st;
}

/* Loads sentencepiece from t->spiece and checks T5's special ids. */
static nt5_status load_spiece(tokenizer *t, const char *what) {
    char msg[256] = "";
    int rc = spm_load_bytes(t->spiece, t->spiece_len, &t->sp, msg, sizeof msg);
    if (rc != 0)
        return err_set(rc == -2 ? NT5_ERR_OUT_OF_MEMORY : NT5_ERR_FORMAT, "%s: not a sentencepiece model (%s)", what,
                       msg);
    t->pieces = spm_piece_count(t->sp);
    if (t->pieces < 3 || strcmp(spm_id_to_piece(t->sp, T5_PAD), "<pad>") != 0 ||
        strcmp(spm_id_to_piece(t->sp, T5_EOS), "</s>") != 0 || strcmp(spm_id_to_piece(t->sp, T5_UNK), "<unk>") != 0)
        return err_set(NT5_ERR_FORMAT, "%s: ids 0, 1, 2 are not <pad>, </s>, <unk> as in T5's tokenizer", what);
    return NT5_OK;
}

nt5_status tok_open(const char *dir, tokenizer **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    if (access(path, F_OK) != 0) return err_set(NT5_ERR_NOT_FOUND, "%s has no spiece.model", dir);
    tokenizer *t = calloc(1, sizeof *t);
    if (!t) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    t->extra_ids = 100;
    t->max_length = 512;
    nt5_status st = file_read_all(path, &t->spiece, &t->spiece_len);
    if (st == NT5_OK) st = load_spiece(t, path);
    if (st == NT5_OK) st = read_tokenizer_config(dir, t);
    if (st != NT5_OK) {
        tok_free(t);
        return st;
    }
    *out = t;
    return NT5_OK;
}

nt5_status tok_open_bytes(const void *spiece, size_t len, int extra_ids, int max_length, const char *what,
                          tokenizer **out) {
    if (extra_ids < 0 || extra_ids > 10000 || max_length < 1)
        return err_set(NT5_ERR_FORMAT, "%s: tokenizer extra_ids %d or max length %d out of range", what, extra_ids,
                       max_length);
    tokenizer *t = calloc(1, sizeof *t);
    if (!t || !(t->spiece = malloc(len ? len : 1))) {
        free(t);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(t->spiece, spiece, len);
    t->spiece_len = len;
    t->extra_ids = extra_ids;
    t->max_length = max_length;
    nt5_status st = load_spiece(t, what);
    if (st != NT5_OK) {
        tok_free(t);
        return st;
    }
    *out = t;
    return NT5_OK;
}

nt5_status tok_open_spiece(const void *spiece, size_t len, int vocab_size, const char *what, tokenizer **out) {
    nt5_status st = tok_open_bytes(spiece, len, 0, 512, what, out);
    if (st == NT5_OK && (*out)->pieces + T5_EXTRA_IDS <= vocab_size) (*out)->extra_ids = T5_EXTRA_IDS;
    return st;
}

nt5_status tok_open_path(const char *path, int vocab_size, tokenizer **out) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return err_set(errno == ENOENT ? NT5_ERR_NOT_FOUND : NT5_ERR_IO, "cannot open tokenizer \"%s\": %s", path,
                       strerror(errno));
    if (S_ISDIR(sb.st_mode)) return tok_open(path, out);
    char *bytes = NULL;
    size_t len = 0;
    nt5_status st = file_read_all(path, &bytes, &len);
    if (st == NT5_OK) st = tok_open_spiece(bytes, len, vocab_size, path, out);
    free(bytes);
    return st;
}

void tok_free(tokenizer *t) {
    if (!t) return;
    if (t->sp) spm_free(t->sp);
    free(t->spiece);
    free(t);
}

/* ---- encoding ---- */

typedef struct id_list {
    int32_t *ids;
    size_t n, cap;
} id_list;

static int list_push(id_list *l, int32_t id) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        int32_t *grown = realloc(l->ids, cap * sizeof *grown);
        if (!grown) return -1;
        l->ids = grown;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Length of a special token at s (0 if none); its id and whether it strips
 * the whitespace around it (<extra_id_N> does). */
static size_t match_special(const tokenizer *t, const char *s, int32_t *id, int *strips) {
    static const struct {
        const char *text;
        int32_t id;
    } fixed[] = {{"</s>", T5_EOS}, {"<pad>", T5_PAD}, {"<unk>", T5_UNK}};
    *strips = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(fixed[i].text);
        if (strncmp(s, fixed[i].text, n) == 0) {
            *id = fixed[i].id;
            return n;
        }
    }
    static const char prefix[] = "<extra_id_";
    size_t p = sizeof prefix - 1;
    if (strncmp(s, prefix, p) != 0 || s[p] < '0' || s[p] > '9') return 0;
    long n = 0;
    size_t k = p;
    while (s[k] >= '0' && s[k] <= '9' && k - p < 6) n = n * 10 + (s[k++] - '0');
    if (s[k] != '>' || (s[p] == '0' && k - p > 1) || n >= t->extra_ids) return 0;
    *id = tok_size(t) - 1 - (int32_t)n;
    *strips = 1;
    return k + 1;
}

/* Encodes the text between special tokens; trim_left/trim_right drop the
 * whitespace a neighbouring <extra_id_N> swallows (its lstrip/rstrip). */
static nt5_status encode_chunk(const tokenizer *t, const char *s, size_t len, int trim_left, int trim_right,
                               id_list *out) {
    while (trim_left && len && is_space(*s)) s++, len--;
    while (trim_right && len && is_space(s[len - 1])) len--;
    if (!len) return NT5_OK;
    int *ids;
    size_t n;
    int rc = spm_encode(t->sp, s, len, &ids, &n);
    if (rc != 0)
        return err_set(rc == -2 ? NT5_ERR_OUT_OF_MEMORY : NT5_ERR_INVALID_ARG,
                       "sentencepiece could not encode the text");
    nt5_status st = NT5_OK;
    for (size_t i = 0; i < n && st == NT5_OK; i++)
        if (list_push(out, ids[i]) != 0) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    free(ids);
    return st;
}

nt5_status tok_encode(const tokenizer *t, const char *text, int add_eos, int32_t **ids, size_t *n_ids) {
    size_t len = strlen(text);
    size_t bad = utf8_first_invalid(text, len);
    if (bad != len) return err_set(NT5_ERR_INVALID_ARG, "text is not valid UTF-8 (byte %zu)", bad);
    id_list out = {0};
    nt5_status st = NT5_OK;
    size_t chunk = 0;
    int trim_left = 0;
    for (size_t i = 0; i < len && st == NT5_OK;) {
        int32_t id;
        int strips;
        size_t m = text[i] == '<' ? match_special(t, text + i, &id, &strips) : 0;
        if (!m) {
            i++;
            continue;
        }
        st = encode_chunk(t, text + chunk, i - chunk, trim_left, strips, &out);
        if (st == NT5_OK && list_push(&out, id) != 0) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
        trim_left = strips;
        i += m;
        chunk = i;
    }
    if (st == NT5_OK) st = encode_chunk(t, text + chunk, len - chunk, trim_left, 0, &out);
    if (st == NT5_OK && add_eos && (out.n == 0 || out.ids[out.n - 1] != T5_EOS) && list_push(&out, T5_EOS) != 0)
        st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (st != NT5_OK) {
        free(out.ids);
        return st;
    }
    if (!out.ids) out.ids = malloc(sizeof *out.ids);
    if (!out.ids) return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    *ids = out.ids;
    *n_ids = out.n;
    return NT5_OK;
}

/* ---- decoding ---- */

typedef struct str_buf {
    char *s;
    size_t n, cap;
    int failed;
} str_buf;

static void buf_append(str_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void buf_puts(str_buf *b, const char *s) { buf_append(b, s, strlen(s)); }

/* Appends sentencepiece's decoding of pieces[0..n). */
static void append_decoded(const tokenizer *t, str_buf *b, const char *const *pieces, size_t n) {
    if (!n || b->failed) return;
    char *text;
    size_t len;
    if (spm_decode_pieces(t->sp, pieces, n, &text, &len) != 0) {
        b->failed = 1;
        return;
    }
    buf_append(b, text, len);
    free(text);
}

static void strip_in_place(str_buf *b, size_t from) {
    size_t start = from;
    while (start < b->n && is_space(b->s[start])) start++;
    size_t end = b->n;
    while (end > start && is_space(b->s[end - 1])) end--;
    memmove(b->s + from, b->s + start, end - start);
    b->n = from + (end - start);
    if (b->s) b->s[b->n] = '\0';
}

/* T5Tokenizer.convert_tokens_to_string: runs of ordinary pieces go through
 * sentencepiece, </s> <pad> <unk> are kept as text, the result is stripped.
 * Appends to b. */
static void tokens_to_string(const tokenizer *t, str_buf *b, const char **tokens, const int32_t *ids, size_t n) {
    size_t from = b->n;
    if (n && strncmp(tokens[0], SPIECE_UNDERLINE, 3) == 0) tokens[0] += 3;
    size_t run = 0;
    int prev_special = 0;
    buf_append(b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (!tok_is_special(t, ids[i])) {
            prev_special = 0;
            continue;
        }
        if (!prev_special) buf_puts(b, " ");
        append_decoded(t, b, tokens + run, i - run);
        buf_puts(b, tokens[i]);
        prev_special = 1;
        run = i + 1;
    }
    append_decoded(t, b, tokens + run, n - run);
    if (!b->failed) strip_in_place(b, from);
}

/* clean_up_tokenization of transformers, replacement by replacement. */
static void clean_up(str_buf *b) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]), w = 0;
        for (size_t i = 0; i < b->n;) {
            if (i + fl <= b->n && memcmp(b->s + i, from[r], fl) == 0) {
                memcpy(b->s + w, to[r], tl);
                w += tl;
                i += fl;
            } else {
                b->s[w++] = b->s[i++];
            }
        }
        b->n = w;
        b->s[w] = '\0';
    }
}

/* "<extra_id_N>": the text of an extra id, which sentencepiece does not know */
typedef char extra_name[24];

nt5_status tok_decode(const tokenizer *t, const int32_t *ids, size_t n_ids, int32_t flags, int32_t vocab_size,
                      char **text, size_t *len) {
    int skip = (flags & NT5_DETOKENIZE_SKIP_SPECIAL) != 0;
    const char **tokens = malloc((n_ids ? n_ids : 1) * sizeof *tokens);
    int32_t *kept = malloc((n_ids ? n_ids : 1) * sizeof *kept);
    extra_name *extra_names = malloc((n_ids ? n_ids : 1) * sizeof *extra_names); /* [n_ids] */
    str_buf b = {0};
    nt5_status st = NT5_OK;
    if (!tokens || !kept || !extra_names) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < n_ids && st == NT5_OK; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= vocab_size) {
            st = err_set(NT5_ERR_INVALID_ARG, "token id %d at position %zu is outside the vocabulary [0, %d)", id, i,
                         vocab_size);
        } else if (id >= tok_size(t) || (skip && tok_is_special(t, id))) {
            continue;
        } else if (id >= t->pieces) {
            snprintf(extra_names[n], sizeof extra_names[n], "<extra_id_%d>", tok_size(t) - 1 - id);
            tokens[n] = extra_names[n];
            kept[n++] = id;
        } else {
            tokens[n] = spm_id_to_piece(t->sp, id);
            kept[n++] = id;
        }
    }
    /* <extra_id_N> are "added tokens": they split the text into parts that
     * are joined with single spaces */
    int parts = 0;
    size_t run = 0;
    buf_append(&b, "", 0);
    for (size_t i = 0; i <= n && st == NT5_OK; i++) {
        int is_extra = i < n && kept[i] >= t->pieces;
        if (i < n && !is_extra) continue;
        if (i > run) {
            size_t before = b.n;
            if (parts) buf_puts(&b, " ");
            size_t start = b.n;
            tokens_to_string(t, &b, tokens + run, kept + run, i - run);
            if (b.n == start && i < n) b.n = before; /* an empty part before an added token is dropped */
            else parts++;
            if (b.s) b.s[b.n] = '\0';
        }
        if (is_extra) {
            if (parts) buf_puts(&b, " ");
            buf_puts(&b, tokens[i]);
            parts++;
        }
        run = i + 1;
    }
    if (st == NT5_OK && b.failed) st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory decoding tokens");
    if (st == NT5_OK && !(flags & NT5_DETOKENIZE_NO_CLEANUP)) clean_up(&b);
    free(tokens);
    free(kept);
    free(extra_names);
    if (st != NT5_OK) {
        free(b.s);
        return st;
    }
    *text = b.s;
    *len = b.n;
    return NT5_OK;
}
