/* Tokenizer parity with T5Tokenizer (legacy mode) on every case of a
 * tokenizer fixture: ids, decode with and without special tokens and
 * clean-up. usage: test_tokenizer REFERENCE_DIR SPIECE_DIR */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness_internal.h"
#include "tokenizer/tokenizer.h"

static void check_decode(const tokenizer *t, const cJSON *c, const int32_t *ids, size_t n, int32_t flags,
                         const char *field) {
    char *text = NULL;
    size_t len;
    CHECK_STATUS(tok_decode(t, ids, n, flags, tok_size(t), &text, &len), NT5_OK);
    const char *want = cJSON_GetObjectItem(c, field)->valuestring;
    CHECK(text && strcmp(text, want) == 0, "%s of \"%s\": \"%s\" vs \"%s\"", field,
          cJSON_GetObjectItem(c, "text")->valuestring, text ? text : "(null)", want);
    free(text);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/spiece.model", argv[2]);
    if (access(path, F_OK) != 0) {
        printf("SKIP: %s is absent (a third-party file read from ../shared)\n", path);
        return SKIP_EXIT;
    }
    snprintf(path, sizeof path, "%s/reference.json", argv[1]);
    size_t json_len;
    char *json_text = read_file(path, &json_len);
    cJSON *ref = json_text ? cJSON_Parse(json_text) : NULL;
    free(json_text);
    CHECK(ref != NULL, "reading %s", path);
    tokenizer *t = NULL;
    CHECK_STATUS(tok_open(argv[2], &t), NT5_OK);
    if (!ref || !t) return harness_finish(argv[1]);
    CHECK(tok_size(t) == cJSON_GetObjectItem(ref, "tokenizer_len")->valueint, "tokenizer size %d", tok_size(t));
    int cases = 0;
    for (const cJSON *c = cJSON_GetObjectItem(ref, "cases")->child; c; c = c->next, cases++) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        size_t n_want, n = 0;
        int32_t *want = json_int_array(cJSON_GetObjectItem(c, "ids"), &n_want);
        int32_t *ids = NULL;
        CHECK_STATUS(tok_encode(t, text, 1, &ids, &n), NT5_OK);
        CHECK(ids && n == n_want && memcmp(ids, want, n * sizeof *ids) == 0, "ids of \"%s\" differ", text);
        check_decode(t, c, want, n_want, 0, "decode");
        check_decode(t, c, want, n_want, NT5_DETOKENIZE_SKIP_SPECIAL, "decode_skip_special");
        check_decode(t, c, want, n_want, NT5_DETOKENIZE_NO_CLEANUP, "decode_no_cleanup");
        free(ids);
        free(want);
    }
    printf("%d cases\n", cases);
    /* invalid UTF-8 is refused with a message naming the byte */
    int32_t *ids = NULL;
    size_t n;
    CHECK_STATUS(tok_encode(t, "ok \xff\xfe", 1, &ids, &n), NT5_ERR_INVALID_ARG);
    CHECK(strstr(nt5_last_error(), "UTF-8") != NULL, "message: %s", nt5_last_error());
    CHECK_STATUS(tok_encode(t, "\xed\xa0\x80 surrogate", 1, &ids, &n), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(tok_encode(t, "\xc0\xaf overlong", 1, &ids, &n), NT5_ERR_INVALID_ARG);
    tok_free(t);
    cJSON_Delete(ref);
    return harness_finish(argv[1]);
}
