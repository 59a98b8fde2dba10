/* nt5_convert: its options are checked; f32 nt5 files give bit-identical
 * outputs and always carry an explicit lm_head; folded norm scales give the
 * same function; f16 files hold power-of-two scaled weights and calibrated
 * input scales that keep the headroom, and open close to f32; the
 * calibration measures what the model computes (an FFN whose up projection
 * is scaled by 2^16 has exactly 2^16 times the input maximum at its output
 * product); HF layout output; cancelling leaves no file; half precision
 * emulated on the CPU overflows exactly where input scales are missing. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NT5_EXPERIMENTAL
#include "base/half.h"
#include "harness_internal.h"
#include "nt5_experimental.h"

static char tmp_dir[1024];

static const char *const prompts[] = {
    "Hello world!",
    "translate English to German: The house is wonderful.",
};

static nt5_status convert(const char *src, const char *dst, int32_t format, int32_t dtype, int fold) {
    nt5_convert_options o;
    nt5_convert_options_init(&o, sizeof o);
    o.format = format;
    o.dtype = dtype;
    o.fold_norm_scales = fold;
    return nt5_convert(src, dst, &o, NULL, 0, NULL);
}

static nt5_embeddings *encode(const char *path) {
    nt5_model *m = open_model_or_fail(path);
    nt5_embeddings *e = NULL;
    if (m) CHECK_STATUS(nt5_encode_texts(m, prompts, 2, NULL, &e), NT5_OK);
    nt5_model_free(m);
    return e;
}

/* greedy ids of both prompts, concatenated with -1 after each */
static int32_t *greedy(const char *path, size_t *n) {
    nt5_model *m = open_model_or_fail(path);
    nt5_generation *g = NULL;
    nt5_generate_options o;
    nt5_generate_options_init(&o, sizeof o);
    o.max_new_tokens = 10;
    if (m) CHECK_STATUS(nt5_generate_texts(m, prompts, 2, &o, &g), NT5_OK);
    int32_t *all = calloc(2 * 11, sizeof *all);
    *n = 0;
    for (size_t i = 0; g && i < nt5_generation_count(g); i++) {
        const int32_t *ids;
        size_t k;
        nt5_generation_get(g, i, &ids, &k, NULL, NULL);
        memcpy(all + *n, ids, k * sizeof *ids);
        *n += k;
        all[(*n)++] = -1;
    }
    nt5_generation_free(g);
    nt5_model_free(m);
    return all;
}

static size_t elems(const nt5_embeddings *e) {
    size_t b, s, d;
    return e && nt5_embeddings_shape(e, &b, &s, &d) == NT5_OK ? b * s * d : 0;
}

/* Compares the outputs of two models: hidden states within rel_tol
 * (0: bit-identical) and, when both have decoders, greedy ids. */
static void same_outputs(const char *what, const char *a, const char *b, double rel_tol, int generate) {
    nt5_embeddings *ea = encode(a), *eb = encode(b);
    size_t n = elems(ea);
    if (n && n == elems(eb)) {
        const float *x = nt5_embeddings_data(ea), *y = nt5_embeddings_data(eb);
        double err = rel_l2(y, x, n);
        if (rel_tol == 0) CHECK(memcmp(x, y, n * sizeof(float)) == 0, "%s: hidden states differ (%.3g)", what, err);
        else CHECK(err < rel_tol, "%s: hidden states relative L2 %.3g > %.3g", what, err, rel_tol);
        printf("%s: hidden states relative L2 %.2e\n", what, err);
    } else {
        CHECK(0, "%s: no hidden states to compare", what);
    }
    nt5_embeddings_free(ea);
    nt5_embeddings_free(eb);
    if (!generate) return;
    size_t na, nb;
    int32_t *ga = greedy(a, &na), *gb = greedy(b, &nb);
    CHECK(na == nb && na > 0 && memcmp(ga, gb, na * sizeof *ga) == 0, "%s: greedy ids differ", what);
    free(ga);
    free(gb);
}

static st_file *open_st(const char *path) {
    st_file *f = NULL;
    CHECK_STATUS(st_open(path, &f), NT5_OK);
    return f;
}

static int all_ones(const st_tensor *t) {
    const float *v = (const float *)t->data;
    for (size_t i = 0; i < t->nbytes / 4; i++)
        if (v[i] != 1.0f) return 0;
    return 1;
}

static void check_f32_file(const char *model, const char *file, int tied) {
    st_file *f = open_st(file);
    if (!f) return;
    const st_tensor *head = st_find(f, "lm_head"), *shared = st_find(f, "shared");
    CHECK(head && shared && head->nbytes == shared->nbytes, "%s: the nt5 file has an explicit lm_head", model);
    if (tied && head && shared)
        CHECK(memcmp(head->data, shared->data, head->nbytes) == 0, "%s: a tied lm_head holds the embedding", model);
    const char *folded = st_metadata(f, "norm_scales_folded");
    CHECK(folded && strcmp(folded, "0") == 0, "%s: norm_scales_folded is \"0\"", model);
    st_close(f);
}

static void check_folded_file(const char *model, const char *file, int tied) {
    st_file *f = open_st(file);
    if (!f) return;
    static const char *const ones[] = {"enc.0.ln_attn", "enc.1.ln_ff", "dec.0.ln_self", "dec.0.ln_cross",
                                       "dec.1.ln_ff"};
    for (int i = 0; i < 5; i++) {
        const st_tensor *t = st_find(f, ones[i]);
        CHECK(t && all_ones(t), "%s: %s is folded into ones", model, ones[i]);
    }
    const st_tensor *enc_final = st_find(f, "enc.final_ln"), *dec_final = st_find(f, "dec.final_ln");
    CHECK(enc_final && !all_ones(enc_final), "%s: enc.final_ln scales the output and is kept", model);
    CHECK(dec_final && all_ones(dec_final) == !tied, "%s: dec.final_ln folds into lm_head only when untied", model);
    const char *folded = st_metadata(f, "norm_scales_folded");
    CHECK(folded && strcmp(folded, "1") == 0, "%s: norm_scales_folded is \"1\"", model);
    st_close(f);
}

/* The smallest e >= 0 with absmax * headroom / 2^e <= 65504. */
static int expected_input_exp(double absmax, double headroom) {
    int e = 0;
    while (ldexp(absmax * headroom, -e) > 65504.0) e++;
    return e;
}

/* F16 matrices with their largest stored magnitude in (2^14, 2^15], the
 * exponents and calibrated maxima of f16_scales obeying the headroom. */
static cJSON *check_f16_file(const char *model, const char *file, double headroom) {
    st_file *f = open_st(file);
    if (!f) return NULL;
    const char *text = st_metadata(f, "f16_scales"), *room = st_metadata(f, "f16_headroom");
    cJSON *scales = text ? cJSON_Parse(text) : NULL;
    CHECK(scales && room && atof(room) == headroom, "%s: f16_scales and f16_headroom %g are recorded", model, headroom);
    int matrices = 0, with_inputs = 0;
    for (size_t i = 0; scales && i < f->count; i++) {
        const st_tensor *t = &f->tensors[i];
        if (t->ndim != 2 || strstr(t->name, ".bias")) continue;
        matrices++;
        CHECK(t->dtype == ST_F16, "%s: %s is stored F16", model, t->name);
        float top = 0;
        for (size_t k = 0; k < t->nbytes / 2; k++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * k, 2);
            top = fmaxf(top, fabsf(half_f16_to_f32(h)));
        }
        CHECK(top > 16384.0f && top <= 32768.0f, "%s: %s's largest stored value %g is in (2^14, 2^15]", model, t->name,
              top);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(scales, t->name);
        CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "weight_exp")), "%s: %s has a weight_exp", model,
              t->name);
        const cJSON *absmax = cJSON_GetObjectItemCaseSensitive(e, "input_absmax");
        const cJSON *in_exp = cJSON_GetObjectItemCaseSensitive(e, "input_exp");
        if (strcmp(t->name, "shared") == 0) {
            CHECK(!absmax, "%s: the embedding is gathered and has no input scale", model);
            continue;
        }
        with_inputs++;
        CHECK(cJSON_IsNumber(absmax) && absmax->valuedouble > 0 && cJSON_IsNumber(in_exp) &&
                  in_exp->valueint == expected_input_exp(absmax->valuedouble, headroom),
              "%s: %s's input_exp follows its calibrated maximum", model, t->name);
    }
    CHECK(matrices > 10 && with_inputs == matrices - 1, "%s: %d matrices, %d with input scales", model, matrices,
          with_inputs);
    st_close(f);
    return scales;
}

static double input_absmax(const cJSON *scales, const char *matrix) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(scales, matrix);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "input_absmax");
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int input_exp_of(const cJSON *scales, const char *matrix) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(scales, matrix);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "input_exp");
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* A copy of the nt5 file `from` whose f16_scales metadata is `scales`. */
static void write_with_scales(const char *from, const char *to, const char *scales) {
    size_t len;
    char *bytes = read_file(from, &len);
    uint64_t hl = 0;
    if (!bytes || len < 8) return;
    memcpy(&hl, bytes, 8);
    cJSON *header = cJSON_ParseWithLength(bytes + 8, (size_t)hl);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(header, "__metadata__");
    cJSON_ReplaceItemInObjectCaseSensitive(meta, "f16_scales", cJSON_CreateString(scales));
    char *text = cJSON_PrintUnformatted(header);
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    FILE *f = fopen(to, "wb");
    uint64_t plen = padded;
    fwrite(&plen, 8, 1, f);
    fwrite(text, 1, n, f);
    for (size_t i = n; i < padded; i++) fputc(' ', f);
    fwrite(bytes + 8 + hl, 1, len - 8 - (size_t)hl, f);
    fclose(f);
    free(text);
    cJSON_Delete(header);
    free(bytes);
}

/* Broken f16_scales are refused with the file and tensor named. */
static void test_bad_scales(const char *f16_file) {
    static const char *const bad[] = {"not json", "{\"enc.0.qkv\": {\"weight_exp\": 1000}}",
                                      "{\"enc.0.qkv\": {\"weight_exp\": \"-3\"}}",
                                      "{\"enc.0.qkv\": {\"weight_exp\": 0.5}}"};
    char path[1200];
    snprintf(path, sizeof path, "%s/bad-scales.nt5", tmp_dir);
    for (int i = 0; i < 4; i++) {
        write_with_scales(f16_file, path, bad[i]);
        nt5_model *m = NULL;
        CHECK_STATUS(nt5_model_open(path, NULL, &m), NT5_ERR_FORMAT);
        CHECK(!m && strstr(nt5_last_error(), "bad-scales.nt5"), "bad f16_scales %d: %s", i, nt5_last_error());
        nt5_model_free(m);
    }
}

static void test_model(const char *name, int tied) {
    char f32[1200], folded[1200], again[1200], f16[1200], hf[1200];
    snprintf(f32, sizeof f32, "%s/%s-f32.nt5", tmp_dir, name);
    snprintf(folded, sizeof folded, "%s/%s-folded.nt5", tmp_dir, name);
    snprintf(again, sizeof again, "%s/%s-folded-again.nt5", tmp_dir, name);
    snprintf(f16, sizeof f16, "%s/%s-f16.nt5", tmp_dir, name);
    snprintf(hf, sizeof hf, "%s/%s-hf", tmp_dir, name);
    const char *dir = data_path(name);

    CHECK_STATUS(convert(dir, f32, NT5_FORMAT_NT5, NT5_DTYPE_F32, 0), NT5_OK);
    check_f32_file(name, f32, tied);
    mode_t mask = umask(022);
    umask(mask);
    struct stat sb;
    CHECK(stat(f32, &sb) == 0 && (sb.st_mode & 0777) == (0666 & ~mask), "%s: the file has the umask's mode (%o)", name,
          (unsigned)(sb.st_mode & 0777));
    same_outputs(name, dir, f32, 0, 1);

    CHECK_STATUS(convert(dir, folded, NT5_FORMAT_NT5, NT5_DTYPE_F32, 1), NT5_OK);
    check_folded_file(name, folded, tied);
    same_outputs("folded", dir, folded, 1e-5, 1);
    /* a folded file is not folded twice */
    CHECK_STATUS(convert(folded, again, NT5_FORMAT_NT5, NT5_DTYPE_AUTO, 1), NT5_OK);
    size_t la, lb;
    char *a = read_file(folded, &la), *b = read_file(again, &lb);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0, "%s: folding a folded file changes nothing", name);
    free(a);
    free(b);

    CHECK_STATUS(convert(dir, f16, NT5_FORMAT_NT5, NT5_DTYPE_F16, 0), NT5_OK);
    cJSON_Delete(check_f16_file(name, f16, 8.0));
    same_outputs("f16", dir, f16, 2e-3, 0);
    test_bad_scales(f16);
    nt5_model *m = open_model_or_fail(f16);
    nt5_model_info info = {.struct_size = sizeof info};
    if (m)
        CHECK(nt5_model_get_info(m, &info) == NT5_OK && info.weight_dtype == NT5_DTYPE_F32,
              "the CPU widens an f16 file to f32");
    nt5_model_free(m);
    /* kept in f16 on the CPU: the same values, products summed in another order */
    nt5_model_options mo;
    nt5_model_options_init(&mo, sizeof mo);
    mo.device = "cpu";
    mo.weight_dtype = NT5_DTYPE_F16;
    m = NULL;
    CHECK_STATUS(nt5_model_open(f16, &mo, &m), NT5_OK);
    nt5_embeddings *kept = NULL, *widened = encode(f16);
    if (m) {
        CHECK(nt5_model_get_info(m, &info) == NT5_OK && info.weight_dtype == NT5_DTYPE_F16,
              "the CPU keeps an f16 file in f16 when asked");
        CHECK_STATUS(nt5_encode_texts(m, prompts, 2, NULL, &kept), NT5_OK);
    }
    double err = kept && widened ? rel_l2(nt5_embeddings_data(kept), nt5_embeddings_data(widened), elems(widened)) : 1;
    CHECK(elems(kept) == elems(widened) && err < 1e-5, "f16 file kept in f16 vs widened: relative L2 %.3g", err);
    nt5_embeddings_free(kept);
    nt5_embeddings_free(widened);
    nt5_model_free(m);

    CHECK_STATUS(convert(dir, hf, NT5_FORMAT_HF, NT5_DTYPE_F32, 0), NT5_OK);
    same_outputs("hf", dir, hf, 0, 1);
}

static float scale_up_projection(const char *name) { return strstr(name, "wi_1.weight") ? 65536.0f : 1.0f; }

/* The calibration's maxima are the model's: scaling the up projection by
 * 2^16 scales the input of layer 0's wo by exactly 2^16 (powers of two
 * commute with fp32 rounding), and that input then needs an input scale. */
static void test_calibration_measures(void) {
    char scaled[1200], base_file[1200], scaled_file[1200], room_file[1200];
    snprintf(scaled, sizeof scaled, "%s/scaled-ffn", tmp_dir);
    snprintf(base_file, sizeof base_file, "%s/base-f16.nt5", tmp_dir);
    snprintf(scaled_file, sizeof scaled_file, "%s/scaled-f16.nt5", tmp_dir);
    snprintf(room_file, sizeof room_file, "%s/scaled-f16-room1.nt5", tmp_dir);
    const char *model = data_path("t5-v1_1-tiny");
    if (make_model_copy(model, scaled, NT5_DTYPE_F32, scale_up_projection) != 0) return;
    CHECK_STATUS(convert(model, base_file, NT5_FORMAT_NT5, NT5_DTYPE_F16, 0), NT5_OK);
    CHECK_STATUS(convert(scaled, scaled_file, NT5_FORMAT_NT5, NT5_DTYPE_F16, 0), NT5_OK);
    nt5_convert_options o;
    nt5_convert_options_init(&o, sizeof o);
    o.dtype = NT5_DTYPE_F16;
    o.f16_headroom = 1;
    CHECK_STATUS(nt5_convert(scaled, room_file, &o, NULL, 0, NULL), NT5_OK);
    cJSON *base = check_f16_file("t5-v1_1-tiny", base_file, 8.0);
    cJSON *big = check_f16_file("scaled FFN", scaled_file, 8.0);
    cJSON *room = check_f16_file("scaled FFN, headroom 1", room_file, 1.0);
    double x = input_absmax(base, "enc.0.wo"), y = input_absmax(big, "enc.0.wo");
    /* cJSON prints 15 significant digits where they read back within its epsilon */
    CHECK(x > 0 && fabs(y - 65536.0 * x) <= 1e-13 * y, "enc.0.wo input maximum %.17g = 2^16 x %.17g", y, x);
    CHECK(input_exp_of(big, "enc.0.wo") > 0 && input_exp_of(base, "enc.0.wo") == 0,
          "the scaled FFN's output product needs an input scale (%d), the original none (%d)",
          input_exp_of(big, "enc.0.wo"), input_exp_of(base, "enc.0.wo"));
    CHECK(input_exp_of(room, "enc.0.wo") == input_exp_of(big, "enc.0.wo") - 3, "headroom 8 costs 3 exponent steps");
    printf("calibration: enc.0.wo input max %.6g (scaled %.6g), input_exp %d -> %d\n", x, y,
           input_exp_of(base, "enc.0.wo"), input_exp_of(big, "enc.0.wo"));
    same_outputs("scaled FFN f16", scaled, scaled_file, 2e-3, 0);
    cJSON_Delete(base);
    cJSON_Delete(big);
    cJSON_Delete(room);
}

/* nt5_model_diagnose's report as JSON (NULL with a failed check). */
static cJSON *diagnose(const char *path, int32_t flags) {
    nt5_model *m = open_model_or_fail(path);
    char *text = malloc(1 << 20);
    size_t len = 0;
    if (m) CHECK_STATUS(nt5_model_diagnose(m, prompts, 2, flags, text, 1 << 20, &len), NT5_OK);
    cJSON *r = m ? cJSON_Parse(text) : NULL;
    CHECK(!m || (r && strlen(text) == len), "diagnose gives JSON of the length it says");
    free(text);
    nt5_model_free(m);
    return r;
}

static const char *first_non_finite(const cJSON *report) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(report, "first_non_finite");
    return cJSON_IsString(f) ? f->valuestring : "(none)";
}

/* Half precision emulated on the CPU: with the calibrated input scales the
 * scaled-FFN model runs without a non-finite value; with every input scale
 * forced to 1 the first overflow is exactly the product after the scaled
 * FFN (enc.0.wo); in fp32 nothing overflows. */
static void test_f16_emulation(void) {
    char scaled_file[1200], unscaled_file[1200];
    snprintf(scaled_file, sizeof scaled_file, "%s/scaled-f16.nt5", tmp_dir);
    snprintf(unscaled_file, sizeof unscaled_file, "%s/scaled-f16-no-input-scales.nt5", tmp_dir);
    st_file *f = open_st(scaled_file);
    cJSON *scales = f ? cJSON_Parse(st_metadata(f, "f16_scales")) : NULL;
    st_close(f);
    if (!scales) return;
    cJSON *e;
    cJSON_ArrayForEach(e, scales) if (cJSON_GetObjectItemCaseSensitive(e, "input_exp"))
        cJSON_ReplaceItemInObjectCaseSensitive(e, "input_exp", cJSON_CreateNumber(0));
    char *text = cJSON_PrintUnformatted(scales);
    write_with_scales(scaled_file, unscaled_file, text);
    free(text);
    cJSON_Delete(scales);

    cJSON *calibrated = diagnose(scaled_file, NT5_DIAGNOSE_EMULATE_F16);
    cJSON *unscaled = diagnose(unscaled_file, NT5_DIAGNOSE_EMULATE_F16);
    cJSON *fp32 = diagnose(unscaled_file, 0);
    CHECK(strcmp(first_non_finite(calibrated), "(none)") == 0, "calibrated f16: first non-finite %s",
          first_non_finite(calibrated));
    CHECK(strcmp(first_non_finite(unscaled), "enc.0.wo") == 0, "f16 without input scales overflows first at %s",
          first_non_finite(unscaled));
    CHECK(strcmp(first_non_finite(fp32), "(none)") == 0, "fp32 has no overflow (%s)", first_non_finite(fp32));
    const cJSON *products = cJSON_GetObjectItemCaseSensitive(calibrated, "products");
    const cJSON *first = cJSON_GetArrayItem(products, 0);
    CHECK(cJSON_GetArraySize(products) > 10 && first &&
              strcmp(cJSON_GetObjectItemCaseSensitive(first, "matrix")->valuestring, "enc.0.qkv") == 0,
          "products are listed in forward order, from enc.0.qkv");
    printf("f16 emulation: calibrated scales: no overflow; input scales forced to 1: first overflow at %s\n",
           first_non_finite(unscaled));
    cJSON_Delete(calibrated);
    cJSON_Delete(unscaled);
    cJSON_Delete(fp32);

    nt5_model *m = open_model_or_fail(data_path("t5-v1_1-tiny"));
    size_t len = 0;
    char small[8];
    if (m) {
        CHECK_STATUS(nt5_model_diagnose(m, prompts, 2, NT5_DIAGNOSE_EMULATE_F16, small, sizeof small, &len),
                     NT5_ERR_UNSUPPORTED); /* not an f16 file */
        CHECK_STATUS(nt5_model_diagnose(m, prompts, 2, 0, small, sizeof small, &len), NT5_ERR_BUFFER_TOO_SMALL);
        CHECK(len > 100, "the report's length is returned (%zu)", len);
        CHECK_STATUS(nt5_model_diagnose(m, prompts, 2, 8, small, sizeof small, &len), NT5_ERR_INVALID_ARG);
        CHECK_STATUS(nt5_model_diagnose(m, NULL, 2, 0, small, sizeof small, &len), NT5_ERR_INVALID_ARG);
    }
    CHECK_STATUS(nt5_model_diagnose(NULL, prompts, 2, 0, small, sizeof small, &len), NT5_ERR_INVALID_ARG);
    nt5_model_free(m);
}

static int32_t stop_calibrating(const char *what, uint64_t done, uint64_t total, void *user_data) {
    int *calls = user_data;
    (*calls)++;
    CHECK(strcmp(what, "calibrating") == 0 && done >= 1 && total == 2, "progress: %s %llu/%llu", what,
          (unsigned long long)done, (unsigned long long)total);
    return done == 1;
}

/* cancels the first time the file is being written */
static int32_t stop_writing(const char *what, uint64_t done, uint64_t total, void *user_data) {
    int *calls = user_data;
    (*calls)++;
    CHECK(strncmp(what, "writing ", 8) == 0 && strstr(what, "cancelled") && done > 0 && done <= total,
          "progress: %s %llu/%llu", what, (unsigned long long)done, (unsigned long long)total);
    return 1;
}

static int leftover_files(void) {
    int n = 0;
    DIR *d = opendir(tmp_dir);
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, "cancelled") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_options_and_errors(void) {
    nt5_convert_options o;
    CHECK_STATUS(nt5_convert_options_init(&o, sizeof o), NT5_OK);
    CHECK(o.format == NT5_FORMAT_NT5 && o.dtype == NT5_DTYPE_AUTO && o.fold_norm_scales == 0 && o.f16_headroom == 0 &&
              !o.calibration_texts && !o.source,
          "convert option defaults");
    CHECK_STATUS(nt5_convert_options_init(&o, 1u << 20), NT5_ERR_INVALID_ARG);
    const char *dir = data_path("t5-v1_1-tiny");
    char out[1200], path[8];
    snprintf(out, sizeof out, "%s/unused.nt5", tmp_dir);
    CHECK_STATUS(convert(dir, out, 7, NT5_DTYPE_F32, 0), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(convert(dir, out, NT5_FORMAT_NT5, 9, 0), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(convert(dir, out, NT5_FORMAT_HF, NT5_DTYPE_F16, 0), NT5_ERR_UNSUPPORTED);
    CHECK_STATUS(nt5_convert(NULL, out, NULL, NULL, 0, NULL), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_convert(dir, "", NULL, NULL, 0, NULL), NT5_ERR_INVALID_ARG);
    CHECK_STATUS(nt5_convert(dir, NULL, NULL, NULL, 0, NULL), NT5_ERR_INVALID_ARG); /* the cache needs a Hub id */
    CHECK_STATUS(nt5_convert(dir, out, NULL, NULL, 4, NULL), NT5_ERR_INVALID_ARG);
    size_t len = 0;
    CHECK_STATUS(nt5_convert(dir, out, NULL, path, sizeof path, &len), NT5_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen(out) && access(out, F_OK) != 0, "a too small path buffer is found before converting");
    nt5_convert_options_init(&o, sizeof o);
    o.f16_headroom = -1;
    CHECK_STATUS(nt5_convert(dir, out, &o, NULL, 0, NULL), NT5_ERR_INVALID_ARG);
    o.f16_headroom = 0;
    const char *texts[] = {"one", "two"};
    o.calibration_texts = texts;
    CHECK_STATUS(nt5_convert(dir, out, &o, NULL, 0, NULL), NT5_ERR_INVALID_ARG); /* count 0 */

    /* cancelled from the progress callback: nothing is written */
    char cancelled[1200];
    snprintf(cancelled, sizeof cancelled, "%s/cancelled.nt5", tmp_dir);
    int calls = 0;
    nt5_model_options src;
    nt5_model_options_init(&src, sizeof src);
    src.on_progress = stop_calibrating;
    src.progress_user_data = &calls;
    o.dtype = NT5_DTYPE_F16;
    o.num_calibration_texts = 2;
    o.source = &src;
    CHECK_STATUS(nt5_convert(dir, cancelled, &o, NULL, 0, NULL), NT5_ERR_CANCELLED);
    CHECK(calls == 1 && leftover_files() == 0, "a cancelled conversion leaves no file (%d calls)", calls);
    /* and cancelled while writing: the temporary file is removed */
    calls = 0;
    src.on_progress = stop_writing;
    o.dtype = NT5_DTYPE_F32;
    CHECK_STATUS(nt5_convert(dir, cancelled, &o, NULL, 0, NULL), NT5_ERR_CANCELLED);
    CHECK(calls == 1 && leftover_files() == 0, "a conversion cancelled while writing leaves no file (%d calls)", calls);

    /* a model without a tokenizer cannot be calibrated */
    char bare[1200], bare_out[1200];
    snprintf(bare, sizeof bare, "%s/no-tokenizer", tmp_dir);
    snprintf(bare_out, sizeof bare_out, "%s/no-tokenizer.nt5", tmp_dir);
    if (make_model_copy(dir, bare, NT5_DTYPE_F32, NULL) == 0) {
        char spiece[1300];
        snprintf(spiece, sizeof spiece, "%s/spiece.model", bare);
        unlink(spiece);
        CHECK_STATUS(convert(bare, bare_out, NT5_FORMAT_NT5, NT5_DTYPE_F16, 0), NT5_ERR_UNSUPPORTED);
        CHECK(strstr(nt5_last_error(), "tokenizer") != NULL, "the message names the tokenizer: %s", nt5_last_error());
    }

    /* encoder-only */
    char enc[1200];
    snprintf(enc, sizeof enc, "%s/encoder.nt5", tmp_dir);
    nt5_convert_options_init(&o, sizeof o);
    o.encoder_only = 1;
    CHECK_STATUS(nt5_convert(dir, enc, &o, path, 0, &len), NT5_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(nt5_convert(dir, enc, &o, NULL, 0, &len), NT5_OK);
    CHECK(len == strlen(enc), "the written path's length is returned");
    st_file *f = open_st(enc);
    if (f) {
        CHECK(!st_find(f, "lm_head") && !st_find(f, "dec.0.qkv") && st_find(f, "enc.0.qkv"),
              "an encoder-only file has no decoder or lm_head");
        st_close(f);
    }
    same_outputs("encoder-only", dir, enc, 0, 0);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "%s/nt5-convert-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_dir)) return 1;
    test_options_and_errors();
    test_model("t5-v1_0-tiny", 1);
    test_model("t5-v1_1-tiny", 0);
    test_model("mt5-tiny", 0);
    test_model("umt5-tiny", 0);
    test_calibration_measures();
    test_f16_emulation();
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return harness_finish("convert");
}
