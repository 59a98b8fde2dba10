#include "backend/cpu/cpu_features.h"

#include <cpuid.h>

/* F16C is CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports does not know it) */
int cpu_has_avx2_fma_f16c(void) {
    static int have = -1;
    unsigned a, b, c = 0, d;
    if (have < 0)
        have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __get_cpuid(1, &a, &b, &c, &d) &&
               (c >> 29 & 1);
    return have;
}
