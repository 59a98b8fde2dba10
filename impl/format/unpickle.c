#include "format/unpickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef enum vkind {
    V_NONE,
    V_BOOL,
    V_INT,
    V_FLOAT,
    V_STR,
    V_TUPLE,
    V_LIST,
    V_DICT,
    V_GLOBAL,
    V_STORAGE,
    V_TENSOR,
    V_MARK
} vkind;

typedef struct value value;
struct value {
    vkind kind;
    int64_t i;
    double f;
    char *s;       /* V_STR, V_GLOBAL ("module.name") */
    value **items; /* tuple/list items; dict keys and values alternate */
    size_t n, cap;
    pickled_tensor t; /* V_STORAGE (key, dtype, numel) and V_TENSOR */
};

typedef struct unpickler {
    const uint8_t *p, *end;
    const char *what;
    value **all; /* every value made, freed at the end */
    size_t n_all, cap_all;
    value **stack;
    size_t sp, cap_stack;
    value **memo;
    size_t cap_memo;
    nt5_status st;
} unpickler;

/* the first three are the weight dtypes nt5 reads; the others parse but are refused at load */
static const char *const storage_types[][2] = {
    {"FloatStorage", "F32"}, {"HalfStorage", "F16"}, {"BFloat16Storage", "BF16"}, {"DoubleStorage", ""},
    {"LongStorage", ""},     {"IntStorage", ""},     {"ShortStorage", ""},        {"CharStorage", ""},
    {"ByteStorage", ""},     {"BoolStorage", ""},
};

static int fail(unpickler *u, const char *fmt, const char *detail) {
    if (u->st == NT5_OK) u->st = err_set(NT5_ERR_FORMAT, fmt, u->what, detail);
    return 0;
}

static value *make(unpickler *u, vkind kind) {
    if (u->st != NT5_OK) return NULL;
    if (u->n_all == u->cap_all) {
        size_t cap = u->cap_all ? 2 * u->cap_all : 256;
        value **grown = realloc(u->all, cap * sizeof *grown);
        if (!grown) return u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory"), NULL;
        u->all = grown;
        u->cap_all = cap;
    }
    value *v = calloc(1, sizeof *v);
    if (!v) return u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory"), NULL;
    v->kind = kind;
    u->all[u->n_all++] = v;
    return v;
}

static int add_item(unpickler *u, value *c, value *item) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        value **grown = realloc(c->items, cap * sizeof *grown);
        if (!grown) return u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory"), 0;
        c->items = grown;
        c->cap = cap;
    }
    c->items[c->n++] = item;
    return 1;
}

static int push(unpickler *u, value *v) {
    if (!v) return 0;
    if (u->sp == u->cap_stack) {
        size_t cap = u->cap_stack ? 2 * u->cap_stack : 64;
        if (cap > (1u << 24)) return fail(u, "%s: pickle stack too deep%s", "");
        value **grown = realloc(u->stack, cap * sizeof *grown);
        if (!grown) return u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory"), 0;
        u->stack = grown;
        u->cap_stack = cap;
    }
    u->stack[u->sp++] = v;
    return 1;
}

static value *pop(unpickler *u) {
    if (u->sp == 0 || u->stack[u->sp - 1]->kind == V_MARK) return fail(u, "%s: pickle stack underflow%s", ""), NULL;
    return u->stack[--u->sp];
}

/* Index of the topmost MARK. */
static int find_mark(unpickler *u, size_t *at) {
    for (size_t i = u->sp; i > 0; i--)
        if (u->stack[i - 1]->kind == V_MARK) return *at = i - 1, 1;
    return fail(u, "%s: pickle MARK missing%s", "");
}

static const uint8_t *take(unpickler *u, size_t n) {
    if ((size_t)(u->end - u->p) < n) return fail(u, "%s: pickle ends early%s", ""), NULL;
    const uint8_t *q = u->p;
    u->p += n;
    return q;
}

static uint64_t le(const uint8_t *q, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = (v << 8) | q[i - 1];
    return v;
}

static value *make_str(unpickler *u, const uint8_t *q, size_t n) {
    value *v = make(u, V_STR);
    if (v && !(v->s = malloc(n + 1))) u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    if (u->st != NT5_OK) return NULL;
    memcpy(v->s, q, n);
    v->s[n] = '\0';
    return v;
}

static const char *allowed_global(const char *module, const char *name) {
    if (!strcmp(module, "collections") && !strcmp(name, "OrderedDict")) return "OrderedDict";
    if (!strcmp(module, "torch._utils") && (!strcmp(name, "_rebuild_tensor_v2") || !strcmp(name, "_rebuild_tensor") ||
                                            !strcmp(name, "_rebuild_parameter")))
        return name;
    if (!strcmp(module, "torch"))
        for (size_t i = 0; i < sizeof storage_types / sizeof storage_types[0]; i++)
            if (!strcmp(name, storage_types[i][0])) return name;
    return NULL;
}

static int op_global(unpickler *u) {
    char module[128], name[128];
    for (int part = 0; part < 2; part++) {
        char *dst = part ? name : module;
        size_t n = 0;
        for (;;) {
            const uint8_t *c = take(u, 1);
            if (!c) return 0;
            if (*c == '\n') break;
            if (n + 1 >= sizeof module) return fail(u, "%s: pickle GLOBAL name too long%s", "");
            dst[n++] = (char)*c;
        }
        dst[n] = '\0';
    }
    const char *ok = allowed_global(module, name);
    if (!ok) {
        char detail[300];
        snprintf(detail, sizeof detail, "%s.%s", module, name);
        return fail(u,
                    "%s: the pickle references %s, which a PyTorch state dict never needs; refusing it "
                    "(nothing was executed)",
                    detail);
    }
    value *v = make(u, V_GLOBAL);
    if (v && !(v->s = strdup(ok))) u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    return push(u, v);
}

static int as_int(const value *v, int64_t *out) {
    if (!v || (v->kind != V_INT && v->kind != V_BOOL)) return 0;
    *out = v->i;
    return 1;
}

/* BINPERSID: ('storage', StorageType, key, location, numel) */
static int op_persid(unpickler *u) {
    value *t = pop(u);
    if (!t) return 0;
    if (t->kind != V_TUPLE || t->n < 5 || t->items[0]->kind != V_STR || strcmp(t->items[0]->s, "storage") ||
        t->items[1]->kind != V_GLOBAL || t->items[2]->kind != V_STR)
        return fail(u, "%s: unexpected persistent id (not a torch storage)%s", "");
    value *s = make(u, V_STORAGE);
    if (!s) return 0;
    if (!as_int(t->items[4], &s->t.storage_numel) || s->t.storage_numel < 0)
        return fail(u, "%s: storage size is not a count%s", "");
    s->t.dtype = -1;
    snprintf(s->t.dtype_name, sizeof s->t.dtype_name, "%s", t->items[1]->s);
    static const int dtypes[] = {NT5_DTYPE_F32, NT5_DTYPE_F16, NT5_DTYPE_BF16};
    for (int i = 0; i < 3; i++)
        if (!strcmp(t->items[1]->s, storage_types[i][0])) s->t.dtype = dtypes[i];
    if (!(s->t.storage_key = strdup(t->items[2]->s))) return u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory"), 0;
    return push(u, s);
}

static int int_tuple(const value *v, int64_t *out, int *n) {
    if (!v || v->kind != V_TUPLE || v->n > PICKLE_MAX_DIMS) return 0;
    for (size_t i = 0; i < v->n; i++)
        if (!as_int(v->items[i], &out[i])) return 0;
    *n = (int)v->n;
    return 1;
}

/* REDUCE: OrderedDict(), _rebuild_tensor_v2(storage, offset, size, stride, ...), _rebuild_parameter(t, ...) */
static int op_reduce(unpickler *u) {
    value *args = pop(u), *fn = pop(u);
    if (!args || !fn) return 0;
    if (fn->kind != V_GLOBAL || args->kind != V_TUPLE) return fail(u, "%s: REDUCE of something not callable%s", "");
    if (!strcmp(fn->s, "OrderedDict")) return push(u, make(u, V_DICT));
    if (!strcmp(fn->s, "_rebuild_parameter")) {
        if (args->n < 1 || args->items[0]->kind != V_TENSOR)
            return fail(u, "%s: _rebuild_parameter of a non-tensor%s", "");
        return push(u, args->items[0]);
    }
    if (!strcmp(fn->s, "_rebuild_tensor_v2") || !strcmp(fn->s, "_rebuild_tensor")) {
        value *t = make(u, V_TENSOR);
        if (!t) return 0;
        int nstride = 0;
        if (args->n < 4 || args->items[0]->kind != V_STORAGE || !as_int(args->items[1], &t->t.offset) ||
            !int_tuple(args->items[2], t->t.shape, &t->t.ndim) || !int_tuple(args->items[3], t->t.stride, &nstride) ||
            nstride != t->t.ndim || t->t.offset < 0)
            return fail(u, "%s: malformed tensor rebuild arguments%s", "");
        const pickled_tensor *s = &args->items[0]->t;
        t->t.dtype = s->dtype;
        t->t.storage_numel = s->storage_numel;
        memcpy(t->t.dtype_name, s->dtype_name, sizeof t->t.dtype_name);
        t->t.storage_key = s->storage_key; /* owned by the storage value */
        return push(u, t);
    }
    return fail(u, "%s: REDUCE of %s is not allowed", fn->s);
}

/* SETITEM: dict key value; SETITEMS: dict MARK key value ... */
static int op_setitems(unpickler *u, int many) {
    size_t first;
    if (many) {
        size_t mark;
        if (!find_mark(u, &mark)) return 0;
        first = mark + 1;
    } else {
        if (u->sp < 3) return fail(u, "%s: malformed SETITEM%s", "");
        first = u->sp - 2;
    }
    size_t dict_at = many ? first - 2 : first - 1;
    if (first < 2 && many) return fail(u, "%s: SETITEMS without a dict%s", "");
    if ((u->sp - first) % 2 || u->stack[dict_at]->kind != V_DICT) return fail(u, "%s: malformed SETITEM(S)%s", "");
    for (size_t i = first; i < u->sp; i++)
        if (!add_item(u, u->stack[dict_at], u->stack[i])) return 0;
    u->sp = many ? first - 1 : first;
    return 1;
}

static int op_collect(unpickler *u, vkind kind, int append_to_list) {
    size_t mark;
    if (!find_mark(u, &mark)) return 0;
    value *c;
    if (append_to_list) {
        if (mark == 0 || u->stack[mark - 1]->kind != V_LIST) return fail(u, "%s: APPENDS on a non-list%s", "");
        c = u->stack[mark - 1];
    } else if (!(c = make(u, kind))) {
        return 0;
    }
    for (size_t i = mark + 1; i < u->sp; i++)
        if (!add_item(u, c, u->stack[i])) return 0;
    u->sp = mark;
    return append_to_list ? 1 : push(u, c);
}

static int op_small_tuple(unpickler *u, size_t n) {
    value *t = make(u, V_TUPLE);
    if (!t || u->sp < n) return fail(u, "%s: pickle stack underflow%s", "");
    for (size_t i = u->sp - n; i < u->sp; i++)
        if (u->stack[i]->kind == V_MARK || !add_item(u, t, u->stack[i])) return fail(u, "%s: malformed tuple%s", "");
    u->sp -= n;
    return push(u, t);
}

static int memo_put(unpickler *u, size_t idx) {
    if (u->sp == 0 || idx > (1u << 24)) return fail(u, "%s: bad memo put%s", "");
    if (idx >= u->cap_memo) {
        size_t cap = idx * 2 + 16;
        value **grown = realloc(u->memo, cap * sizeof *grown);
        if (!grown) return u->st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory"), 0;
        memset(grown + u->cap_memo, 0, (cap - u->cap_memo) * sizeof *grown);
        u->memo = grown;
        u->cap_memo = cap;
    }
    u->memo[idx] = u->stack[u->sp - 1];
    return 1;
}

static int memo_get(unpickler *u, size_t idx) {
    if (idx >= u->cap_memo || !u->memo[idx]) return fail(u, "%s: pickle memo %s is empty", "entry");
    return push(u, u->memo[idx]);
}

/* One opcode; returns 0 at STOP or on error. */
static int step(unpickler *u, value **result) {
    const uint8_t *q = take(u, 1);
    if (!q) return 0;
    switch (*q) {
    case 0x80: return take(u, 1) != NULL; /* PROTO */
    case '.': *result = pop(u); return 0; /* STOP */
    case '(': return push(u, make(u, V_MARK));
    case 'c': return op_global(u);
    case 'R': return op_reduce(u);
    case 'b': return pop(u) != NULL; /* BUILD: the state (e.g. _metadata) is not needed */
    case 'Q': return op_persid(u);
    case ')': return push(u, make(u, V_TUPLE));
    case 't': return op_collect(u, V_TUPLE, 0);
    case 0x85: return op_small_tuple(u, 1);
    case 0x86: return op_small_tuple(u, 2);
    case 0x87: return op_small_tuple(u, 3);
    case ']': return push(u, make(u, V_LIST));
    case 'a': {
        value *v = pop(u);
        return v && u->sp && u->stack[u->sp - 1]->kind == V_LIST ? add_item(u, u->stack[u->sp - 1], v)
                                                                 : fail(u, "%s: APPEND on a non-list%s", "");
    }
    case 'e': return op_collect(u, V_LIST, 1);
    case '}': return push(u, make(u, V_DICT));
    case 's': return op_setitems(u, 0);
    case 'u': return op_setitems(u, 1);
    case 'N': return push(u, make(u, V_NONE));
    case 0x88:
    case 0x89: {
        value *v = make(u, V_BOOL);
        if (v) v->i = *q == 0x88;
        return push(u, v);
    }
    case 'J':
    case 'K':
    case 'M': {
        size_t n = *q == 'J' ? 4 : *q == 'K' ? 1 : 2;
        const uint8_t *d = take(u, n);
        value *v = d ? make(u, V_INT) : NULL;
        if (v) v->i = n == 4 ? (int64_t)(int32_t)le(d, 4) : (int64_t)le(d, n);
        return push(u, v);
    }
    case 0x8a: { /* LONG1 */
        const uint8_t *n = take(u, 1), *d = n ? take(u, *n) : NULL;
        if (!d || *n > 8) return fail(u, "%s: integer too large for a state dict%s", "");
        value *v = make(u, V_INT);
        if (v) {
            uint64_t x = le(d, *n);
            if (*n && *n < 8 && (d[*n - 1] & 0x80)) x |= ~0ull << (8 * *n); /* sign-extend */
            v->i = (int64_t)x;
        }
        return push(u, v);
    }
    case 'G': {
        const uint8_t *d = take(u, 8);
        value *v = d ? make(u, V_FLOAT) : NULL;
        if (v) {
            uint64_t bits = 0;
            for (int i = 0; i < 8; i++) bits = (bits << 8) | d[i]; /* big-endian */
            memcpy(&v->f, &bits, sizeof v->f);
        }
        return push(u, v);
    }
    case 'X':
    case 'U': {
        const uint8_t *n = take(u, *q == 'X' ? 4 : 1);
        size_t len = n ? (size_t)le(n, *q == 'X' ? 4 : 1) : 0;
        const uint8_t *d = n ? take(u, len) : NULL;
        return d && push(u, make_str(u, d, len));
    }
    case 'h': {
        const uint8_t *d = take(u, 1);
        return d && memo_get(u, *d);
    }
    case 'j': {
        const uint8_t *d = take(u, 4);
        return d && memo_get(u, (size_t)le(d, 4));
    }
    case 'q': {
        const uint8_t *d = take(u, 1);
        return d && memo_put(u, *d);
    }
    case 'r': {
        const uint8_t *d = take(u, 4);
        return d && memo_put(u, (size_t)le(d, 4));
    }
    default: {
        char op[8];
        snprintf(op, sizeof op, "0x%02x", *q);
        return fail(u, "%s: pickle opcode %s is not allowed in a state dict", op);
    }
    }
}

static void free_values(unpickler *u) {
    for (size_t i = 0; i < u->n_all; i++) {
        value *v = u->all[i];
        free(v->s);
        free(v->items);
        if (v->kind == V_STORAGE) free(v->t.storage_key);
        free(v);
    }
    free(u->all);
    free(u->stack);
    free(u->memo);
}

void pickled_state_free(pickled_state *s) {
    for (size_t i = 0; i < s->count; i++) {
        free(s->tensors[i].name);
        free(s->tensors[i].storage_key);
    }
    free(s->tensors);
    memset(s, 0, sizeof *s);
}

nt5_status unpickle_state_dict(const uint8_t *data, size_t len, const char *what, pickled_state *out) {
    memset(out, 0, sizeof *out);
    unpickler u = {.p = data, .end = data + len, .what = what};
    value *root = NULL;
    while (step(&u, &root)) {
    }
    if (u.st == NT5_OK && (!root || root->kind != V_DICT))
        u.st = err_set(NT5_ERR_FORMAT, "%s: the pickle is not a state dict (a dict of tensors)", what);
    if (u.st == NT5_OK) {
        out->tensors = calloc(root->n / 2 + 1, sizeof *out->tensors);
        if (!out->tensors) u.st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; u.st == NT5_OK && i + 1 < root->n; i += 2) {
        value *k = root->items[i], *v = root->items[i + 1];
        if (k->kind != V_STR || v->kind != V_TENSOR) {
            u.st = err_set(NT5_ERR_FORMAT, "%s: state dict entry %zu is not a named tensor", what, i / 2);
            break;
        }
        pickled_tensor *t = &out->tensors[out->count];
        *t = v->t;
        t->name = strdup(k->s);
        t->storage_key = strdup(v->t.storage_key);
        out->count++;
        if (!t->name || !t->storage_key) u.st = err_set(NT5_ERR_OUT_OF_MEMORY, "out of memory");
    }
    free_values(&u);
    if (u.st != NT5_OK) pickled_state_free(out);
    return u.st;
}
