/* What the CPU offers the kernels that are chosen at run time. */
#ifndef NT5_IMPL_CPU_FEATURES_H
#define NT5_IMPL_CPU_FEATURES_H

/* 1 when the CPU has AVX2, FMA and F16C (the kernels' target
 * "avx2,fma,f16c"), else 0; asked once. */
int cpu_has_avx2_fma_f16c(void);

#endif
