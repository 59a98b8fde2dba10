#include "format/dtype_tally.h"

#include <stdio.h>
#include <string.h>

void dtype_tally_add(dtype_tally *t, const char *name) {
    for (size_t i = 0; i < t->kinds; i++) {
        if (strcmp(t->names[i], name) == 0) {
            t->counts[i]++;
            return;
        }
    }
    if (t->kinds == DTYPE_TALLY_KINDS) {
        t->others++;
        return;
    }
    t->names[t->kinds] = name;
    t->counts[t->kinds++] = 1;
}

void dtype_tally_text(const dtype_tally *t, char *out, size_t cap) {
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->kinds && w < cap; i++)
        w += (size_t)snprintf(out + w, cap - w, "%s%s %zu", i ? ", " : "", t->names[i], t->counts[i]);
    if (t->others && w < cap) snprintf(out + w, cap - w, ", %zu of other dtypes", t->others);
}
