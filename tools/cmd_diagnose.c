#define NT5_EXPERIMENTAL
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nt5_experimental.h"

static const char help[] =
    "usage: nt5 diagnose MODEL TEXT [TEXT ...] [--emulate-f16] [--json]\n"
    "Runs the texts through MODEL on the CPU (encoded and, with a decoder, decoded greedily for\n"
    "32 tokens) and prints, for every matrix product in forward order, the largest |input| and\n"
    "whether a non-finite value reached it, then the first weight tensor holding one and the\n"
    "first product that saw one.\n"
    "  --emulate-f16  (f16 nt5 files) round each product's input to f16 after its calibrated\n"
    "                 input scale, as the half-precision GPU path does; f16 overflow shows here\n"
    "  --json         the report as JSON\n"
    "Experimental: the report's shape may change.\n";

static void print_table(const cJSON *report) {
    const cJSON *p;
    printf("%-16s %14s %6s %14s\n", "product", "input max", "exp", "f16 headroom");
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(report, "products")) {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "input_exp");
        double top = cJSON_GetObjectItemCaseSensitive(p, "input_absmax")->valuedouble;
        int e = cJSON_IsNumber(exp) ? exp->valueint : 0;
        char exp_text[16] = "-", room[32] = "-";
        if (cJSON_IsNumber(exp)) snprintf(exp_text, sizeof exp_text, "%d", e);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "non_finite"))) snprintf(room, sizeof room, "non-finite");
        else if (top > 0) snprintf(room, sizeof room, "%.3g", 65504.0 / (top / (double)(1u << e)));
        printf("%-16s %14.6g %6s %14s\n", cJSON_GetObjectItemCaseSensitive(p, "matrix")->valuestring, top, exp_text,
               room);
    }
    const cJSON *weight = cJSON_GetObjectItemCaseSensitive(report, "first_non_finite_weight");
    if (cJSON_IsString(weight))
        printf("non-finite weights: %.0f, the first in %s\n",
               cJSON_GetObjectItemCaseSensitive(report, "non_finite_weights")->valuedouble, weight->valuestring);
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(report, "first_non_finite");
    if (cJSON_IsString(first)) printf("first non-finite input: %s\n", first->valuestring);
    else if (!cJSON_IsString(weight)) printf("no non-finite values\n");
}

int cmd_diagnose(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int json = args_flag(&a, "--json");
    int32_t flags = args_flag(&a, "--emulate-f16") ? NT5_DIAGNOSE_EMULATE_F16 : 0;
    nt5_model *m = NULL;
    const char **texts = calloc((size_t)argc + 1, sizeof *texts);
    size_t n = 0;
    int rc = texts ? model_and_texts(&a, "diagnose", help, 0, &m, texts, &n) : 1;
    size_t cap = 1 << 20, len = 0;
    char *text = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0) {
        nt5_status st = text ? nt5_model_diagnose(m, texts, n, flags, text, cap, &len) : NT5_ERR_OUT_OF_MEMORY;
        if (st == NT5_ERR_BUFFER_TOO_SMALL) { /* a model with thousands of products: run again */
            free(text);
            text = malloc(len + 1);
            st = text ? nt5_model_diagnose(m, texts, n, flags, text, len + 1, &len) : NT5_ERR_OUT_OF_MEMORY;
        }
        if (st != NT5_OK) rc = report("diagnose", st);
    }
    cJSON *parsed = rc == 0 ? cJSON_Parse(text) : NULL;
    if (rc == 0 && json) printf("%s\n", text);
    else if (parsed) print_table(parsed);
    cJSON_Delete(parsed);
    free(text);
    free(texts);
    nt5_model_free(m);
    args_free(&a);
    return rc;
}
