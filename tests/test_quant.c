/* ggml's weight blocks (impl/quant) and the CPU's products with them
 * (backend/cpu/cpu_block_dots.h):
 *   - nt5's quantizers give exactly the blocks of ggml's reference
 *     quantizers for the inputs of FIXTURE (tests/make_quant_fixture.py),
 *     also when quantizing in place;
 *   - widening blocks for sgemm (AVX2 where the CPU has it) equals
 *     dequantizing them, bit for bit;
 *   - the dot products of 1..4 input rows with 1..4 weight rows equal
 *     double-precision sums of the dequantized weights, with the AVX2
 *     kernels (where the CPU has them) and the portable C ones;
 *   - blocks with NaN or infinite scales are counted.
 * usage: test_quant FIXTURE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_block_dots.h"
#include "harness.h"
#include "nt5.h"
#include "quant/block_type.h"

static const int32_t dtypes[] = {NT5_DTYPE_Q8_0, NT5_DTYPE_Q6_K, NT5_DTYPE_Q5_K, NT5_DTYPE_Q4_K};

typedef struct fixture {
    unsigned char *file;
    size_t n;                 /* values */
    const float *x;           /* [n] */
    const uint8_t *blocks[4]; /* per dtypes[i], ggml's */
    size_t bytes[4];
} fixture;

static uint32_t u32_at(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static int read_fixture(const char *path, fixture *f) {
    FILE *fp = fopen(path, "rb");
    long size = fp && fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    if (size < 12 || fseek(fp, 0, SEEK_SET) != 0 || !(f->file = malloc((size_t)size)) ||
        fread(f->file, 1, (size_t)size, fp) != (size_t)size) {
        if (fp) fclose(fp);
        return 0;
    }
    fclose(fp);
    if (memcmp(f->file, "NT5QFIX1", 8) != 0) return 0;
    f->n = u32_at(f->file + 8);
    size_t at = 12 + f->n * sizeof(float);
    f->x = (const float *)(f->file + 12);
    for (int i = 0; i < 4; i++) {
        if (at + 8 > (size_t)size) return 0;
        const block_type *bt = block_type_of(dtypes[i]);
        f->bytes[i] = u32_at(f->file + at + 4);
        if (u32_at(f->file + at) != bt->ggml_type || f->bytes[i] != block_type_row_bytes(bt, f->n) ||
            at + 8 + f->bytes[i] > (size_t)size)
            return 0;
        f->blocks[i] = f->file + at + 8;
        at += 8 + f->bytes[i];
    }
    return 1;
}

/* the blocks of bt quantized from f->x equal ggml's, out of place and in place */
static void check_quantize(const fixture *f, int i) {
    const block_type *bt = block_type_of(dtypes[i]);
    uint8_t *out = malloc(f->bytes[i]);
    float *inplace = malloc(f->n * sizeof(float));
    bt->quantize(f->x, f->n, out);
    size_t differ = 0, first = 0;
    for (size_t b = 0; b < f->n / bt->values; b++)
        if (memcmp(out + b * bt->bytes, f->blocks[i] + b * bt->bytes, bt->bytes) != 0 && differ++ == 0) first = b;
    CHECK(differ == 0, "%s: %zu of %zu blocks differ from ggml's, the first block %zu", bt->name, differ,
          f->n / bt->values, first);
    memcpy(inplace, f->x, f->n * sizeof(float));
    bt->quantize(inplace, f->n, inplace);
    CHECK(memcmp(inplace, out, f->bytes[i]) == 0, "%s: quantized in place the blocks differ", bt->name);
    free(out);
    free(inplace);
}

/* ggml's blocks widened for sgemm against their dequantized values */
static void check_widen(const fixture *f, int i) {
    const block_type *bt = block_type_of(dtypes[i]);
    float *a = malloc(f->n * sizeof(float)), *b = malloc(f->n * sizeof(float));
    bt->dequantize(f->blocks[i], f->n, a);
    block_widen(bt, f->blocks[i], f->n, b);
    CHECK(memcmp(a, b, f->n * sizeof(float)) == 0, "%s: widened values differ from the dequantized ones", bt->name);
    /* the quantized values' error, for the record of what each type keeps */
    double err = 0, norm = 0;
    for (size_t k = 0; k < f->n; k++) {
        err += ((double)a[k] - f->x[k]) * ((double)a[k] - f->x[k]);
        norm += (double)f->x[k] * f->x[k];
    }
    printf("%s: relative L2 error of the fixture's values %.3g\n", bt->name, sqrt(err / norm));
    free(a);
    free(b);
}

/* block_dots for nw weight rows by nx input rows against double sums */
static void check_dots(int32_t dtype) {
    const block_type *bt = block_type_of(dtype);
    /* three 256-value blocks a row; 25 Q8_0 blocks (its single-input kernel takes two at a time) */
    const size_t K = bt->values == 32 ? 800 : 768, rows = 4;
    size_t row_bytes = block_type_row_bytes(bt, K);
    float *w = malloc(rows * K * sizeof(float)), *x = malloc(rows * K * sizeof(float));
    uint8_t *blocks = malloc(rows * row_bytes);
    unsigned seed = 12345;
    for (size_t k = 0; k < rows * K; k++) {
        seed = seed * 1103515245u + 12345u;
        w[k] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
        x[k] = (float)((seed >> 3) % 997) / 500.0f - 1.0f;
    }
    bt->quantize(w, rows * K, blocks);
    bt->dequantize(blocks, rows * K, w);
    const float *xs[4] = {x, x + K, x + 2 * K, x + 3 * K};
    double worst = 0;
    for (size_t run = 0; run < 2 * rows * rows; run++) { /* portable or not, nw, nx */
        size_t nw = run / rows % rows + 1, nx = run % rows + 1;
        float out[16];
        (run >= rows * rows ? block_dots_portable : block_dots)(bt, blocks, row_bytes, nw, xs, nx, K, out);
        worst = fmax(worst, dot_products_error(out, w, K, nw, xs, nx, K));
    }
    CHECK(worst < 1e-6, "%s: dot products off by %.3g of the sum of magnitudes", bt->name, worst);
    /* one input: each row's product the same bits alone as among four (whose lanes are summed at once) */
    float four[4];
    size_t differ = 0;
    block_dots(bt, blocks, row_bytes, rows, xs, 1, K, four);
    for (size_t r = 0; r < rows; r++) {
        float alone;
        block_dots(bt, blocks + r * row_bytes, row_bytes, 1, xs, 1, K, &alone);
        differ += memcmp(&alone, &four[r], sizeof alone) != 0;
    }
    CHECK(differ == 0, "%s: %zu rows differ alone from among four", bt->name, differ);
    free(w);
    free(x);
    free(blocks);
}

/* blocks with a NaN or infinite d (or dmin) are counted */
static void check_bad_scales(const fixture *f, int i) {
    const block_type *bt = block_type_of(dtypes[i]);
    uint8_t *copy = malloc(f->bytes[i]);
    memcpy(copy, f->blocks[i], f->bytes[i]);
    CHECK(block_type_bad_scales(bt, copy, f->n) == 0, "%s: ggml's blocks have no bad scales", bt->name);
    size_t d_at = dtypes[i] == NT5_DTYPE_Q6_K ? 208 : 0;
    copy[d_at] = 0x00, copy[d_at + 1] = 0x7e;                         /* f16 NaN */
    copy[bt->bytes + d_at] = 0x00, copy[bt->bytes + d_at + 1] = 0x7c; /* f16 infinity */
    CHECK(block_type_bad_scales(bt, copy, f->n) == 2, "%s: two blocks with bad scales found %zu", bt->name,
          block_type_bad_scales(bt, copy, f->n));
    free(copy);
}

int main(int argc, char **argv) {
    fixture f = {0};
    if (argc != 2 || !read_fixture(argv[1], &f)) {
        fprintf(stderr, "usage: test_quant FIXTURE (tests/data/quant_ggml.bin); cannot read %s\n",
                argc > 1 ? argv[1] : "(none)");
        free(f.file);
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        check_quantize(&f, i);
        check_widen(&f, i);
        check_dots(dtypes[i]);
        check_bad_scales(&f, i);
    }
    free(f.file);
    return harness_finish("quant");
}
