#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: nt5 info MODEL_DIR [--json] [--device D] [--threads N] [--weight-dtype auto|f32|bf16|f16|q8_0|q6_k|q5_k|q4_k] [--tf32]\n"
    "                [--refuse-non-finite]\n"
    "Prints the model's configuration, tokenizer and device, and how many weights are NaN or\n"
    "infinite (--refuse-non-finite: fail when any is).\n";

int cmd_info(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model *m = NULL;
    int json = args_flag(&a, "--json");
    nt5_model_options o;
    if ((rc = model_flags(&a, 0, &o))) goto done;
    const char *path = args_positional(&a);
    if (!path) {
        fputs(help, stderr);
        rc = 2;
        goto done;
    }
    if ((rc = args_finish(&a, "info")) || (rc = open_model(path, &o, &m))) goto done;
    nt5_model_info i = {.struct_size = sizeof i};
    nt5_status st = nt5_model_get_info(m, &i);
    if (st != NT5_OK) {
        rc = report("info", st);
        goto done;
    }
    const struct {
        const char *key;
        int32_t value;
    } fields[] = {
        {"d_model", i.d_model},
        {"d_kv", i.d_kv},
        {"d_ff", i.d_ff},
        {"num_heads", i.num_heads},
        {"num_layers", i.num_layers},
        {"num_decoder_layers", i.num_decoder_layers},
        {"vocab_size", i.vocab_size},
        {"tokenizer_size", i.tokenizer_size},
        {"relative_attention_num_buckets", i.relative_attention_num_buckets},
        {"relative_attention_max_distance", i.relative_attention_max_distance},
        {"is_gated_act", i.is_gated_act},
        {"tie_word_embeddings", i.tie_word_embeddings},
        {"max_input_length", i.max_input_length},
        {"has_decoder", i.has_decoder},
        {"num_threads", i.num_threads},
    };
    const struct {
        const char *key, *value;
    } names[] = {
        {"model_type", i.model_type_name},
        {"activation", i.activation_name},
        {"device", i.device == NT5_DEVICE_CUDA ? "cuda" : "cpu"},
        {"weight_dtype", dtype_name(i.weight_dtype)},
        {"compute_dtype", dtype_name(i.compute_dtype)},
    };
    size_t n_names = sizeof names / sizeof names[0], n_fields = sizeof fields / sizeof fields[0];
    for (size_t k = 0; k < n_names; k++)
        printf(json ? "%s\"%s\": \"%s\"" : "%s%-32s %s\n", json ? (k ? ", " : "{") : "", names[k].key, names[k].value);
    for (size_t k = 0; k < n_fields; k++) printf(json ? ", \"%s\": %d" : "%-32s %d\n", fields[k].key, fields[k].value);
    printf(json ? ", \"%s\": %lld" : "%-32s %lld\n", "non_finite_weights", (long long)i.non_finite_weights);
    const struct {
        const char *key, *value; /* NULL: none */
    } found[] = {
        {"first_non_finite_weight", i.first_non_finite_weight},
        {"format", i.format},
        {"weights_stored", i.weights_stored},
        {"tokenizer_source", i.tokenizer_source},
    };
    for (size_t k = 0; k < sizeof found / sizeof found[0]; k++) {
        if (json) {
            printf(", \"%s\": ", found[k].key);
            if (found[k].value) json_string(stdout, found[k].value);
            else printf("null");
        } else if (found[k].value || strcmp(found[k].key, "tokenizer_source") == 0) {
            printf("%-32s %s\n", found[k].key, found[k].value ? found[k].value : "none");
        }
    }
    if (json) printf("}\n");
done:
    nt5_model_free(m);
    args_free(&a);
    return rc;
}
