#include "format/tensor_values.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/half.h"
#include "format/fp8.h"

/* Checks a stored tensor's shape and dtype against [rows, cols]. */
nt5_status tensor_check(const st_tensor *t, const char *name, int64_t rows, int64_t cols) {
    int want_dims = cols ? 2 : 1;
    if (t->ndim != want_dims || t->shape[0] != rows || (cols && t->shape[1] != cols)) {
        char got[96] = "";
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        if (cols)
            return err_set(NT5_ERR_FORMAT, "tensor \"%s\" has shape [%s] but the config needs [%lld, %lld]", name, got,
                           (long long)rows, (long long)cols);
        return err_set(NT5_ERR_FORMAT, "tensor \"%s\" has shape [%s] but the config needs [%lld]", name, got,
                       (long long)rows);
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F8_E4M3 &&
        t->dtype != ST_F8_E5M2)
        return err_set(NT5_ERR_FORMAT,
                       "tensor \"%s\" has dtype %s; nt5 reads F32, F16, BF16, F8_E4M3 and F8_E5M2 weights", name,
                       t->dtype_name);
    return NT5_OK;
}

/* Checks a stored tensor and converts it to floats, times 2^exp. */
nt5_status tensor_read(const st_tensor *t, const char *name, int64_t rows, int64_t cols, int exp, float *dst) {
    nt5_status st = tensor_check(t, name, rows, cols);
    if (st != NT5_OK) return st;
    size_t n = (size_t)rows * (size_t)(cols ? cols : 1);
    if (t->dtype == ST_F8_E4M3 || t->dtype == ST_F8_E5M2)
        return fp8_to_f32(t->dtype == ST_F8_E4M3 ? FP8_E4M3FN : FP8_E5M2, t->data, n, name, dst);
    int dtype = t->dtype == ST_F16 ? NT5_DTYPE_F16 : t->dtype == ST_BF16 ? NT5_DTYPE_BF16 : NT5_DTYPE_F32;
    half_to_f32_scaled(dst, t->data, n, dtype, exp);
    return NT5_OK;
}

int32_t tensor_dtype(const st_tensor *t) {
    return !t                                                                        ? NT5_DTYPE_F32
           : t->dtype == ST_BF16 || t->dtype == ST_F8_E4M3 || t->dtype == ST_F8_E5M2 ? NT5_DTYPE_BF16
           : t->dtype == ST_F16                                                      ? NT5_DTYPE_F16
                                                                                     : NT5_DTYPE_F32;
}
