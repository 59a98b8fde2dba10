#include "forward/row_layout.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void row_layout_free(row_layout *l) {
    free(l->ids);
    free(l->product_row);
    free(l->input_row);
    memset(l, 0, sizeof *l);
}

nt5_status row_layout_make(const row_classes *rc, const int32_t *ids, size_t batch, size_t len, const size_t *computed,
                           int32_t pad_id, row_layout *l) {
    size_t block = rc->block, count = rc->count, per_block = block / count; /* places of a class in a block */
    size_t places[ROW_CLASSES_MAX_BLOCK], taken[ROW_CLASSES_MAX_BLOCK] = {0}, blocks = 1;
    for (size_t c = 0, k = 0; c < count; c++) /* class c's places: places[c * per_block ...] */
        for (size_t p = 0; p < block; p++)
            if (rc->class_of[p] == c) places[k++] = p;
    for (size_t b = 0; b < batch; b++)
        for (size_t c = 0; c < count; c++) taken[c] += computed[b] / count + (c < computed[b] % count);
    for (size_t c = 0; c < count; c++)
        if ((taken[c] + per_block - 1) / per_block > blocks) blocks = (taken[c] + per_block - 1) / per_block;
    memset(l, 0, sizeof *l);
    l->rows = blocks * block;
    l->stride = (len + block - 1) / block * block;
    if (l->rows > INT32_MAX || batch * l->stride > INT32_MAX)
        return err_set(NT5_ERR_INVALID_ARG, "%zu inputs of %zu tokens are too many rows for one call", batch, len);
    l->ids = malloc(l->rows * sizeof *l->ids);
    l->input_row = calloc(l->rows, sizeof *l->input_row);
    l->product_row = calloc(batch * l->stride, sizeof *l->product_row);
    if (!l->ids || !l->input_row || !l->product_row) {
        row_layout_free(l);
        return err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory for the rows of %zu inputs", batch);
    }
    for (size_t r = 0; r < l->rows; r++) l->ids[r] = pad_id;
    memset(taken, 0, sizeof taken);
    for (size_t b = 0; b < batch; b++)
        for (size_t t = 0; t < computed[b]; t++) {
            size_t c = t % count, k = taken[c]++;
            size_t row = k / per_block * block + places[c * per_block + k % per_block];
            l->ids[row] = ids[b * len + t];
            l->input_row[row] = (int32_t)(b * l->stride + t);
            l->product_row[b * l->stride + t] = (int32_t)row;
        }
    return NT5_OK;
}
