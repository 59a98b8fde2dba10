#include "base/options.h"

#include <string.h>

#include "base/error.h"

nt5_status opts_check_size(uint32_t struct_size, size_t minimum, size_t known, const char *type_name) {
    if (struct_size < minimum || struct_size > known)
        return err_set(NT5_ERR_INVALID_ARG,
                       "%s.struct_size is %u; this library accepts %zu to %zu "
                       "(fill the struct with its _init function)",
                       type_name, (unsigned)struct_size, minimum, known);
    return NT5_OK;
}

nt5_status opts_overlay(void *dst, size_t known, const void *src, size_t minimum, const char *type_name) {
    if (!src) return NT5_OK;
    uint32_t size;
    memcpy(&size, src, sizeof size);
    nt5_status st = opts_check_size(size, minimum, known, type_name);
    if (st != NT5_OK) return st;
    memcpy(dst, src, size);
    memcpy(dst, &(uint32_t){(uint32_t)known}, sizeof(uint32_t));
    return NT5_OK;
}

nt5_status opts_init(void *dst, uint32_t struct_size, const void *defaults, size_t minimum, size_t known,
                     const char *type_name) {
    if (!dst) return err_set(NT5_ERR_INVALID_ARG, "%s pointer is NULL", type_name);
    nt5_status st = opts_check_size(struct_size, minimum, known, type_name);
    if (st != NT5_OK) return st;
    memcpy(dst, defaults, struct_size);
    memcpy(dst, &struct_size, sizeof struct_size);
    return NT5_OK;
}
