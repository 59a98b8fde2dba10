/* A small test harness: checks that count failures, fixture readers and
 * comparisons. Tests exit 0 when every check passed, 1 otherwise, and 77
 * (meson's "skipped") when a third-party input is absent. */
#ifndef NT5_TEST_HARNESS_H
#define NT5_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nt5.h"

extern int harness_failures;
extern int harness_checks;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        harness_checks++;                                                                                              \
        if (!(cond)) {                                                                                                 \
            harness_failures++;                                                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                       \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
        }                                                                                                              \
    } while (0)

/* CHECK that a call returned `want`, printing the library's message if not. */
#define CHECK_STATUS(call, want)                                                                                       \
    do {                                                                                                               \
        nt5_status got_ = (call);                                                                                      \
        CHECK(got_ == (want), "%s returned %s, wanted %s (%s)", #call, nt5_status_name(got_), nt5_status_name(want),   \
              nt5_last_error());                                                                                       \
    } while (0)

int harness_finish(const char *name);
#define SKIP_EXIT 77

/* tests/data (NT5_TEST_DATA) and ../shared/fixtures (NT5_SHARED_FIXTURES). */
const char *data_dir(void);
const char *shared_fixtures_dir(void);
/* "<data_dir>/<name>" in a static buffer rotation (4 slots). */
const char *data_path(const char *name);

/* Reads a whole file into a NUL-terminated malloc'ed buffer (NULL on error). */
char *read_file(const char *path, size_t *len);

/* ||a - b|| / ||b|| */
double rel_l2(const float *a, const float *b, size_t n);
double max_abs_diff(const float *a, const float *b, size_t n);
/* The largest error of out[nx, nw] as the dot products of nx rows xs[i]
 * with nw weight rows w (ldw apart), K values each, relative to the sum of
 * the products' magnitudes (double precision). */
double dot_products_error(const float *out, const float *w, size_t ldw, size_t nw, const float *const *xs, size_t nx,
                          size_t K);

/* Opens a model on the CPU with default options or returns NULL with a failed check. */
nt5_model *open_model_or_fail(const char *dir);

#endif
