/* The CUDA backend's matrix products, through cuBLASLt (plans.h): f32
 * weights in fp32 (TF32 only when the model options allow it); bf16 weights
 * with a bf16 input; f16 weights (value * 2^-weight_exp) with the input
 * divided by 2^input_exp in f16, the result multiplied back in cuBLASLt's
 * alpha; fp32 accumulation, so the residual stream stays fp32 (a residual
 * product adds into it through beta = 1). An fp32 input of a 16-bit
 * product is cast here first. */
#include "kernels/host/products.h"

#include <math.h>

#include "kernels/device/launch.h"
#include "kernels/host/ops.h"
#include "kernels/host/session.h"

/* out[M, N] (stride ld_out, in out_dtype) (+)= in @ w^T, with ReLU when
 * relu, times out_scale: backend.h linear and linear_relu. */
static void product(exec_ctx *x, void *out, int32_t out_dtype, size_t ld_out, float out_scale, const void *in,
                    int32_t in_dtype, size_t ld_in, const wmat *w, size_t M, size_t N, size_t K, int accumulate,
                    int relu) {
    if (M == 0) return;
    cuda_session *s = session_of(x);
    const void *b = in;
    if (in_dtype != NT5_DTYPE_F32 && (in_dtype != w->dtype || ld_in != K)) {
        x->status = s->cb->host->set_error(NT5_ERR_INTERNAL, "a %s input for a %s product",
                                           in_dtype == NT5_DTYPE_F16 ? "f16" : "bf16",
                                           w->dtype == NT5_DTYPE_F32 ? "f32" : "16-bit");
        return;
    }
    /* f16: the input divided by 2^input_exp, the product multiplied back by 2^(weight_exp + input_exp), exactly */
    int in_exp = w->dtype == NT5_DTYPE_F16 && w->input_exp > 0 ? w->input_exp : 0;
    if (w->dtype != NT5_DTYPE_F32 && in_dtype == NT5_DTYPE_F32) {
        uint16_t *cast = cuda_grow(x, (void **)&s->bf16_in, &s->bf16_cap, M * K * sizeof(uint16_t));
        if (!cast || cuda_failed(x, launch_to_half(cast, in, ld_in, M, K, w->dtype, ldexpf(1.0f, -in_exp), s->stream),
                                 "cast of a product's input"))
            return;
        b = cast;
    }
    lt_shape shape = {.M = M,
                      .N = N,
                      .K = K,
                      .ld_in = ld_in,
                      .ld_out = ld_out,
                      .dtype = w->dtype,
                      .out_dtype = out_dtype,
                      .accumulate = accumulate,
                      .relu = relu};
    /* ReLU commutes with the positive power-of-two scales */
    float alpha = ldexpf(1.0f, w->weight_exp + in_exp) * out_scale, beta = accumulate ? 1.0f : 0.0f;
    lt_plan *plan = NULL;
    cublasStatus_t st = plan_take(&s->cb->plans, &shape, &plan);
    if (st == CUBLAS_STATUS_SUCCESS) {
        st = cublasLtMatmul(s->cb->plans.lt, plan->op, &alpha, w->data, plan->a, b, plan->b, &beta, out, plan->c, out,
                            plan->c, &plan->algo, s->workspace, WORKSPACE_BYTES, s->stream);
        plan_release(&s->cb->plans, plan);
    }
    cuda_lt_failed(x, st, "matmul");
}

void cuda_linear(exec_ctx *x, float *out, size_t ld_out, const void *in, int32_t in_dtype, size_t ld_in, const wmat *w,
                 size_t M, size_t N, size_t K, int accumulate) {
    product(x, out, NT5_DTYPE_F32, ld_out, 1.0f, in, in_dtype, ld_in, w, M, N, K, accumulate, 0);
}

/* cuBLASLt's ReLU epilogue writing the next product's input; with
 * NT5_CUDA_DISABLE=relu-epilogue an fp32 product, then the activation kernel */
void cuda_linear_relu(exec_ctx *x, void *out, int32_t out_dtype, float out_scale, const void *in, int32_t in_dtype,
                      size_t ld_in, const wmat *w, size_t M, size_t N, size_t K) {
    if (!(backend_of(x)->disabled & CUDA_OFF_RELU_EPILOGUE)) {
        product(x, out, out_dtype, N, out_scale, in, in_dtype, ld_in, w, M, N, K, 0, 1);
        return;
    }
    float *wide = cuda_alloc(x, M * N); /* [M, N] fp32 */
    if (!wide) return;
    product(x, wide, NT5_DTYPE_F32, N, 1.0f, in, in_dtype, ld_in, w, M, N, K, 0, 0);
    if (x->status == NT5_OK) cuda_ffn_activation(x, out, out_dtype, out_scale, wide, N, M, N, ACT_RELU, 0);
    cuda_release(x, wide);
}
