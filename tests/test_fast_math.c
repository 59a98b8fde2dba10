/* The vectorized float functions of base/fast_math.h: close to libm over
 * the float range, and defined for NaN and infinities (run under UBSan in
 * CI: a NaN converted to int or a negative shift there is a failure). */
#include <math.h>

#include "base/fast_math.h"
#include "harness.h"

static void check_exp_range(void) {
    double worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        double want = exp((double)x), got = fast_expf(x);
        worst = fmax(worst, fabs(got - want) / want);
    }
    CHECK(worst < 4e-7, "fast_expf over [-87, 88]: relative error %.3g", worst);
}

static void check_specials(void) {
    CHECK(isnan(fast_expf(NAN)), "fast_expf(NaN) is %g, not NaN", fast_expf(NAN));
    CHECK(isnan(fast_expf(-NAN)), "fast_expf(-NaN) is %g, not NaN", fast_expf(-NAN));
    float big = fast_expf(INFINITY), tiny = fast_expf(-INFINITY);
    CHECK(big > 1e38f, "fast_expf(inf) is %g: it saturates near 2^128", big);
    CHECK(tiny >= 0 && tiny < 1e-37f, "fast_expf(-inf) is %g: it flushes near 0", tiny);
    CHECK(fast_expf(1000.0f) == big && fast_expf(-1000.0f) == tiny, "out-of-range inputs saturate as infinities do");
    CHECK(isnan(fast_gelu_tanh(NAN)) && isnan(fast_silu(NAN)) && isnan(relu(NAN)), "activations of NaN are NaN");
    CHECK(relu(-2.0f) == 0.0f && relu(3.0f) == 3.0f && relu(INFINITY) == INFINITY, "relu");
    CHECK(fast_silu(INFINITY) == INFINITY, "silu(inf)");
}

int main(void) {
    check_exp_range();
    check_specials();
    return harness_finish("fast-math");
}
