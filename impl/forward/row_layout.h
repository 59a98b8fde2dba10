/* Batch invariance's placing of an encoder batch's rows in the products
 * (backend.h row_classes). Row t of an input is of class t mod count and
 * goes to the next free place of that class, the inputs one after another,
 * so each row is computed as when its input is encoded alone (the same
 * rule places it then). Every class takes about as many rows as the
 * others, so the products' extra rows are only the last block's free
 * places and one for each input of a length the classes do not divide,
 * instead of each input's rows rounded up to the block. */
#ifndef NT5_IMPL_ROW_LAYOUT_H
#define NT5_IMPL_ROW_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "nt5.h"

typedef struct row_layout {
    size_t rows;          /* product rows: a multiple of the block */
    size_t stride;        /* rows per input in input order: len rounded up to the block */
    int32_t *ids;         /* [rows] token ids in product order (the pad id at free places) */
    int32_t *product_row; /* [batch * stride] product row of input row b * stride + t (0 past computed[b]) */
    int32_t *input_row;   /* [rows] input row b * stride + t at each product row (0 at free places) */
} row_layout;

/* The layout of ids [batch, len] (host memory) whose first computed[b]
 * rows (at most len) the products compute; the status, with the message
 * set on failure (l is then empty). */
nt5_status row_layout_make(const row_classes *rc, const int32_t *ids, size_t batch, size_t len, const size_t *computed,
                           int32_t pad_id, row_layout *l);
void row_layout_free(row_layout *l);

#endif
