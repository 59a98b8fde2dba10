/* Checkpoints stored in F16 or BF16 (rewritten here from the F32 fixture)
 * open and encode close to the F32 original; with weight_dtype auto a BF16
 * checkpoint stays in bf16 and an F16 one is widened to f32; kept in f16
 * (weight_dtype F16) its encoding equals the widened one's within 1e-5
 * (the same values, products summed in another order). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/half.h"
#include "harness_internal.h"
#include "format/safetensors.h"

static char tmp_root[1024];

static nt5_embeddings *encode_with(const char *dir, int32_t weight_dtype, int32_t *stored) {
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.device = "cpu";
    o.weight_dtype = weight_dtype;
    nt5_model *m = NULL;
    CHECK_STATUS(nt5_model_open(dir, &o, &m), NT5_OK);
    const char *texts[] = {"Hello world!", "translate English to German: The house is wonderful."};
    nt5_embeddings *e = NULL;
    if (m) CHECK_STATUS(nt5_encode_texts(m, texts, 2, NULL, &e), NT5_OK);
    nt5_model_info info = {.struct_size = sizeof info};
    if (m && stored) nt5_model_get_info(m, &info), *stored = info.weight_dtype;
    nt5_model_free(m);
    return e;
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/nt5-dtypes-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) return 1;
    const char *model = data_path("t5-v1_1-tiny");
    nt5_embeddings *ref = encode_with(model, NT5_DTYPE_F32, NULL);
    nt5_embeddings *bf16_of_f32 = encode_with(model, NT5_DTYPE_BF16, NULL);
    static const int dtypes[] = {NT5_DTYPE_F16, NT5_DTYPE_BF16};
    for (int i = 0; ref && i < 2; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%s", tmp_root, dtypes[i] == NT5_DTYPE_F16 ? "f16" : "bf16");
        if (make_model_copy(model, dir, dtypes[i], NULL) != 0) continue;
        int32_t stored = -1;
        nt5_embeddings *e = encode_with(dir, NT5_DTYPE_AUTO, &stored);
        if (!e) continue;
        size_t b, s, d;
        nt5_embeddings_shape(e, &b, &s, &d);
        double err = rel_l2(nt5_embeddings_data(e), nt5_embeddings_data(ref), b * s * d);
        CHECK(err > 0 && err < (dtypes[i] == NT5_DTYPE_F16 ? 2e-3 : 1e-2), "%s checkpoint: relative L2 %.3g",
              dtypes[i] == NT5_DTYPE_F16 ? "F16" : "BF16", err);
        printf("%s checkpoint: relative L2 %.2e against F32\n", dtypes[i] == NT5_DTYPE_F16 ? "F16" : "BF16", err);
        if (dtypes[i] == NT5_DTYPE_BF16) {
            CHECK(stored == NT5_DTYPE_BF16, "auto keeps a BF16 checkpoint in bf16 (%d)", stored);
            /* not bit-equal: the BF16 file's norm scales and bias tables are rounded too */
            double to_bf16 = rel_l2(nt5_embeddings_data(e), nt5_embeddings_data(bf16_of_f32), b * s * d);
            CHECK(bf16_of_f32 && to_bf16 < 1e-2, "BF16 checkpoint vs F32 loaded as bf16: %.3g", to_bf16);
        } else {
            CHECK(stored == NT5_DTYPE_F32, "auto stores an F16 checkpoint in f32 (%d)", stored);
            nt5_embeddings *kept = encode_with(dir, NT5_DTYPE_F16, &stored);
            CHECK(stored == NT5_DTYPE_F16, "weight_dtype F16 keeps an F16 checkpoint in f16 (%d)", stored);
            double to_widened = kept ? rel_l2(nt5_embeddings_data(kept), nt5_embeddings_data(e), b * s * d) : 1;
            CHECK(to_widened < 1e-5, "F16 checkpoint kept in f16 vs widened to f32: relative L2 %.3g", to_widened);
            printf("F16 checkpoint kept in f16: relative L2 %.2e against it widened to f32\n", to_widened);
            nt5_embeddings_free(kept);
        }
        nt5_embeddings_free(e);
    }
    nt5_embeddings_free(ref);
    nt5_embeddings_free(bf16_of_f32);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return harness_finish("weight-dtypes");
}
