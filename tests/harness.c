#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int harness_failures = 0;
int harness_checks = 0;

int harness_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, harness_checks, harness_failures);
    return harness_failures ? 1 : 0;
}

const char *data_dir(void) {
    const char *d = getenv("NT5_TEST_DATA");
    return d ? d : "tests/data";
}

const char *shared_fixtures_dir(void) {
    const char *d = getenv("NT5_SHARED_FIXTURES");
    return d ? d : "../shared/fixtures";
}

const char *data_path(const char *name) {
    static char slots[4][4096];
    static int next;
    char *p = slots[next++ % 4];
    snprintf(p, sizeof slots[0], "%s/%s", data_dir(), name);
    return p;
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

double rel_l2(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

double dot_products_error(const float *out, const float *w, size_t ldw, size_t nw, const float *const *xs, size_t nx,
                          size_t K) {
    double worst = 0;
    for (size_t i = 0; i < nx; i++)
        for (size_t r = 0; r < nw; r++) {
            double want = 0, mag = 0;
            for (size_t k = 0; k < K; k++) {
                want += (double)w[r * ldw + k] * xs[i][k];
                mag += fabs((double)w[r * ldw + k] * xs[i][k]);
            }
            worst = fmax(worst, fabs(out[i * nw + r] - want) / mag);
        }
    return worst;
}

nt5_model *open_model_or_fail(const char *dir) {
    nt5_model *m = NULL;
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.device = "cpu";
    nt5_status st = nt5_model_open(dir, &o, &m);
    CHECK(st == NT5_OK, "opening %s: %s (%s)", dir, nt5_status_name(st), nt5_last_error());
    return m;
}
