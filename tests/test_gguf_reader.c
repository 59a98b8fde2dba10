/* Dumps what the GGUF reader sees, for tests/test_gguf.py to compare with
 * gguf-py: the metadata and the typed getters on stdout, each tensor
 * dequantized as raw float32 into OUTDIR/<index>.f32. Checks on the way that
 * lookups find what iteration finds and that each element is readable by
 * exactly the accessor of its type.
 * usage: test_gguf_reader [--buffer] FILE OUTDIR (--buffer: read the file
 * into memory and use gguf_parse instead of gguf_open)
 *        test_gguf_reader --quantize-q8_0 IN.f32 OUT: IN's float32 values as
 * nt5 quantizes them into Q8_0 blocks
 * exit: 0 dumped, 2 the reader refused the file ("error: STATUS: message"
 * on stderr), 3 an inconsistency, 1 usage or I/O. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/q8_0.h"
#include "base/error.h"
#include "format/gguf.h"
#include "format/gguf_quants.h"

static int fail(const char *what) {
    fprintf(stderr, "inconsistent: %s\n", what);
    return 3;
}

static void print_hex(const char *prefix, gguf_str s) {
    printf("%s", prefix);
    for (size_t i = 0; i < s.len; i++) printf("%02x", (unsigned char)s.ptr[i]);
}

static uint32_t f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Element i of v, by the accessor of its type; 1 when any other accessor reads it too. */
static int print_element(const gguf_value *v, uint64_t i) {
    int64_t n;
    double x;
    int b;
    gguf_str s;
    int as_int = gguf_value_i64(v, i, &n), as_float = gguf_value_f64(v, i, &x), as_bool = gguf_value_bool(v, i, &b),
        as_string = gguf_value_string(v, i, &s);
    if (as_int + as_float + as_bool + as_string > 1) return 1;
    if (as_int) printf(" %" PRId64, n);
    else if (as_float && v->elem_type == GGUF_TYPE_FLOAT32) printf(" %08" PRIx32, f32_bits((float)x));
    else if (as_float) {
        uint64_t u;
        memcpy(&u, &x, sizeof u);
        printf(" %016" PRIx64, u);
    } else if (as_bool) printf(" %d", b);
    else if (as_string) {
        char *copy = gguf_str_dup(s);
        if (!copy || memcmp(copy, s.ptr, s.len) != 0 || copy[s.len] != '\0' ||
            gguf_str_is(s, copy) != (memchr(s.ptr, 0, s.len) == NULL)) {
            free(copy);
            return 1;
        }
        free(copy);
        print_hex(" s", s);
    } else printf(" -"); /* a uint64 above INT64_MAX */
    return 0;
}

/* The typed getters on key: their results, "-" where one refuses. */
static void print_getters(const gguf_file *f, const char *key) {
    uint32_t u;
    float x;
    int b;
    gguf_str s;
    uint32_t elem;
    uint64_t count;
    printf("get %s", key);
    if (gguf_get_u32(f, key, &u)) printf(" u32=%" PRIu32, u);
    else printf(" u32=-");
    if (gguf_get_f32(f, key, &x)) printf(" f32=%08" PRIx32, f32_bits(x));
    else printf(" f32=-");
    if (gguf_get_bool(f, key, &b)) printf(" bool=%d", b);
    else printf(" bool=-");
    if (gguf_get_string(f, key, &s)) print_hex(" str=", s);
    else printf(" str=-");
    if (gguf_get_array(f, key, &elem, &count)) printf(" arr=%" PRIu32 ",%" PRIu64 "\n", elem, count);
    else printf(" arr=-\n");
}

static int dump_metadata(const gguf_file *f) {
    printf("version %" PRIu32 "\n", gguf_version(f));
    for (size_t i = 0; i < gguf_kv_count(f); i++) {
        const char *key = gguf_kv_key(f, i);
        const gguf_value *v = gguf_kv_value(f, i);
        if (gguf_get(f, key) != v) return fail("gguf_get does not find a key");
        printf("kv %s %" PRIu32 " %" PRIu32 " %" PRIu64, key, v->type, v->elem_type, v->count);
        for (uint64_t e = 0; e < v->count; e++)
            if (print_element(v, e)) return fail("an element reads as two types");
        printf("\n");
        print_getters(f, key);
    }
    if (gguf_get(f, "no.such.key") || gguf_kv_key(f, gguf_kv_count(f)) || gguf_kv_value(f, gguf_kv_count(f)))
        return fail("a key that is not there is found");
    return 0;
}

static int dump_tensors(const gguf_file *f, const char *outdir) {
    for (size_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (gguf_find_tensor(f, t->name) != t) return fail("gguf_find_tensor does not find a tensor");
        const gguf_type_info *type = gguf_type_lookup(t->type);
        printf("tensor %s %" PRIu32 " %s %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu",
               t->name, t->type, type->name, t->n_dims, t->ne[0], t->ne[1], t->ne[2], t->ne[3], t->n_elements,
               t->nbytes);
        float *out = malloc(t->n_elements * sizeof *out);
        if (!out) return fail("out of memory");
        nt5_status st = gguf_dequantize(t->type, t->data, t->n_elements, out);
        if (st != NT5_OK) {
            printf(" error %s %s\n", nt5_status_name(st), err_message());
            free(out);
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%zu.f32", outdir, i);
        FILE *fp = fopen(path, "wb");
        size_t written = fp ? fwrite(out, sizeof *out, t->n_elements, fp) : 0;
        free(out);
        if (!fp || fclose(fp) != 0 || written != t->n_elements) return fail("cannot write the output");
        printf(" ok\n");
    }
    if (gguf_find_tensor(f, "no.such.tensor") || gguf_tensor_at(f, gguf_tensor_count(f)))
        return fail("a tensor that is not there is found");
    return 0;
}

/* The whole file in a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    uint8_t *buf = NULL;
    long n = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    if (n >= 0 && fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

/* --quantize-q8_0 IN OUT: nt5's Q8_0 blocks (base/q8_0.h) of the float32 values in IN */
static int quantize_q8_0(const char *in, const char *out) {
    size_t size = 0;
    uint8_t *bytes = slurp(in, &size);
    size_t n = size / sizeof(float);
    uint8_t *blocks = bytes ? malloc(q8_0_bytes(n) + 1) : NULL;
    FILE *f = blocks ? fopen(out, "wb") : NULL;
    int ok = f && n % Q8_0_VALUES == 0;
    if (ok) {
        float *x = malloc(n * sizeof *x + 1);
        if ((ok = x != NULL)) {
            memcpy(x, bytes, n * sizeof *x);
            q8_0_quantize(x, n, blocks);
            ok = fwrite(blocks, 1, q8_0_bytes(n), f) == q8_0_bytes(n);
        }
        free(x);
    }
    if (f && fclose(f) != 0) ok = 0;
    free(blocks);
    free(bytes);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--quantize-q8_0") == 0) return quantize_q8_0(argv[2], argv[3]);
    int buffer = argc > 1 && strcmp(argv[1], "--buffer") == 0;
    if (argc != 3 + buffer) {
        fprintf(stderr, "usage: test_gguf_reader [--buffer] FILE OUTDIR\n");
        return 1;
    }
    const char *path = argv[1 + buffer], *outdir = argv[2 + buffer];
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (buffer && !(bytes = slurp(path, &size))) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    gguf_file *f = NULL;
    nt5_status st = buffer ? gguf_parse(bytes, size, path, &f) : gguf_open(path, &f);
    if (st != NT5_OK) {
        fprintf(stderr, "error: %s: %s\n", nt5_status_name(st), err_message());
        free(bytes);
        return 2;
    }
    int rc = dump_metadata(f);
    if (rc == 0) rc = dump_tensors(f, outdir);
    gguf_close(f);
    free(bytes);
    return rc;
}
