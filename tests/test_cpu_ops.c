/* The CPU backend's matrix product against a plain triple loop, over every
 * path (vector, small-M, BLAS; fp32 and bf16 weights) and sizes that are not
 * multiples of the kernels' blocks; and its activations against libm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/dispatch.h"
#include "base/half.h"
#include "harness.h"

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

static void check_linear(const backend *be, size_t M, size_t N, size_t K, int32_t dtype, int accumulate) {
    uint64_t seed = M * 1000003 + N * 1009 + K;
    float *in = malloc(M * K * sizeof *in), *w = malloc(N * K * sizeof *w), *out = malloc(M * N * sizeof *out);
    double *want = malloc(M * N * sizeof *want);
    uint16_t *wb = malloc(N * K * sizeof *wb);
    for (size_t i = 0; i < M * K; i++) in[i] = frand(&seed);
    for (size_t i = 0; i < N * K; i++) w[i] = frand(&seed);
    if (dtype == NT5_DTYPE_BF16) { /* the reference uses the rounded weights */
        half_from_f32(wb, w, N * K, NT5_DTYPE_BF16);
        half_to_f32(w, wb, N * K, NT5_DTYPE_BF16);
    }
    for (size_t i = 0; i < M * N; i++) out[i] = frand(&seed);
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double acc = accumulate ? out[m * N + n] : 0;
            for (size_t k = 0; k < K; k++) acc += (double)in[m * K + k] * w[n * K + k];
            want[m * N + n] = acc;
        }
    wmat wm = {dtype == NT5_DTYPE_BF16 ? (const void *)wb : (const void *)w, dtype, 0, 0, -1};
    exec_ctx x;
    exec_begin(be, &x);
    be->ops->linear(&x, out, N, in, NT5_DTYPE_F32, K, &wm, M, N, K, accumulate);
    CHECK_STATUS(exec_end(&x), NT5_OK);
    double worst = 0;
    for (size_t i = 0; i < M * N; i++) worst = fmax(worst, fabs(out[i] - want[i]) / (1.0 + fabs(want[i])));
    CHECK(worst < 1e-5, "linear M=%zu N=%zu K=%zu %s acc=%d: error %.3g", M, N, K,
          dtype == NT5_DTYPE_BF16 ? "bf16" : "f32", accumulate, worst);
    free(in);
    free(w);
    free(out);
    free(want);
    free(wb);
}

static void check_activations(const backend *be) {
    enum { n = 2001 };
    float in[2 * n], out[n], scaled[n];
    for (size_t i = 0; i < n; i++) in[i] = (float)i / 100.0f - 10.0f, in[n + i] = 1.0f;
    const activation acts[] = {ACT_RELU, ACT_GELU, ACT_GELU_TANH, ACT_SILU};
    for (size_t a = 0; a < 4; a++) {
        exec_ctx x;
        exec_begin(be, &x);
        be->ops->ffn_activation(&x, out, NT5_DTYPE_F32, 1.0f, in, 2 * n, 1, n, acts[a], 1);
        be->ops->ffn_activation(&x, scaled, NT5_DTYPE_F32, 0.25f, in, 2 * n, 1, n, acts[a], 1);
        exec_end(&x);
        for (size_t i = 0; i < n; i++)
            if (scaled[i] != out[i] * 0.25f) {
                CHECK(0, "activation %zu: out_scale 1/4 gives %g, not %g / 4", a, scaled[i], out[i]);
                break;
            }
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double v = in[i], want;
            switch (acts[a]) {
            case ACT_RELU: want = v > 0 ? v : 0; break;
            case ACT_GELU: want = 0.5 * v * (1 + erf(v / sqrt(2.0))); break;
            case ACT_GELU_TANH: want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); break;
            default: want = v / (1 + exp(-v)); break;
            }
            worst = fmax(worst, fabs(out[i] - want) / (1e-1 + fabs(want)));
        }
        CHECK(worst < 1e-5, "activation %zu: relative error %.3g", a, worst);
    }
}

/* The CPU computes in fp32: asked for a half-precision product input, its
 * ops fail the call with an internal error instead of writing the wrong size. */
static void check_fp32_only(const backend *be) {
    float in[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1}, out[4] = {0};
    wmat wm = {w, NT5_DTYPE_F32, 0, 0, -1};
    for (int op = 0; op < 3; op++) {
        exec_ctx x;
        exec_begin(be, &x);
        if (op == 0) be->ops->rmsnorm(&x, out, NT5_DTYPE_BF16, in, w, 1, 4, 1e-6f, 1.0f);
        if (op == 1) be->ops->ffn_activation(&x, out, NT5_DTYPE_F16, 1.0f, in, 4, 1, 4, ACT_RELU, 0);
        if (op == 2) be->ops->linear(&x, out, 4, in, NT5_DTYPE_BF16, 4, &wm, 1, 1, 4, 0);
        CHECK_STATUS(exec_end(&x), NT5_ERR_INTERNAL);
        CHECK(out[0] == 0 && strstr(nt5_last_error(), "CPU") != NULL, "op %d: %s", op, nt5_last_error());
    }
}

int main(void) {
    backend *be = NULL;
    CHECK_STATUS(cpu_backend_create(2, &be), NT5_OK);
    if (!be) return harness_finish("cpu-ops");
    static const size_t Ms[] = {1, 2, 3, 4, 5, 8, 9, 33};
    static const size_t Ns[] = {1, 3, 4, 17, 130};
    static const size_t Ks[] = {1, 7, 16, 33, 100};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int acc = 0; acc <= 1; acc++) {
                    check_linear(be, Ms[a], Ns[b], Ks[c], NT5_DTYPE_F32, acc);
                    check_linear(be, Ms[a], Ns[b], Ks[c], NT5_DTYPE_BF16, acc);
                }
    check_activations(be);
    check_fp32_only(be);
    be->ops->destroy(be);
    return harness_finish("cpu-ops");
}
