#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "encode_corpus.h"
#include "output_files.h"

static const char help[] =
    "usage: nt5 encode MODEL_DIR TEXT [TEXT ...] [options]\n"
    "       nt5 encode MODEL_DIR --input FILE --output DIR [options]\n"
    "Runs the encoder and writes or summarises the final hidden states.\n"
    "  -o, --output FILE     write FILE.npy or FILE.safetensors (by extension)\n"
    "A corpus (--input): every line's caption into DIR/shard-NNNNN.safetensors (hidden_states,\n"
    "lengths, token_ids), DIR/index.jsonl (a line per input line: its shard and row) and\n"
    "DIR/manifest.json; repeated captions are encoded once; run it again to resume.\n"
    "  --input FILE          one caption per line (\"-\": standard input)\n"
    "  --field NAME          the input is JSON lines; the caption is NAME's string\n"
    "  --batch-size N        captions per encoder call (default 16)\n"
    "  --sort-window N       captions sorted by length together, so batches pad little (default 1024)\n"
    "  --shard-size N        captions per shard (default: about 1 GiB at --max-length)\n"
    "  --parallel-batches N  batches encoded at once, each on --threads/N threads (default on the CPU:\n"
    "                        one per thread, but at most a quarter of a window's batches, fewer where\n"
    "                        their activations would pass a quarter of the memory, and a number\n"
    "                        --threads divides by; on a GPU: 1)\n"
    "  --on-error fail|skip  a line without a valid caption stops the run (default) or is skipped\n"
    "  --preset NAME         flux (512, no mask), sd3 (256, no mask), pixart (300, masked),\n"
    "                        wan (512, masked, padded rows zeroed)\n"
    "  --max-length N        tokens per text including </s> (default: the model's 512)\n"
    "  --pad-to-max          pad every text to --max-length (default: to the longest)\n"
    "  --no-mask             attend to padding like diffusers' Flux/SD3 pipelines\n"
    "  --no-truncation       fail on texts longer than --max-length\n"
    "  --zero-padding        zero the hidden states of padded positions\n"
    "  --dtype f32|f16|bf16  output type (default f32)\n"
    "  --json                print the summary as JSON\n"
    "  --quiet               do not say what was written (and draw no progress)\n"
    "  --device D, --threads N, --weight-dtype auto|f32|bf16|f16|q8_0|q6_k|q5_k|q4_k (f16 on a GPU: from calibrated f16 nt5 files or Hub ids)\n"
    "  --tf32                 f32 weights on a GPU: TF32 products (faster, about 1e-3 relative)\n"
    "  --refuse-non-finite    fail to open a model with NaN or infinite weights\n"
    "  --tokenizer T          a directory with spiece.model, or a spiece.model, instead of the model's\n"
    "  --config F             a config.json: a directory's instead of its own; over what nt5 infers\n"
    "                         for a single .safetensors or .gguf file\n";

static int parse_options(cli_args *a, nt5_encode_options *o, const char **preset_name) {
    nt5_encode_options_init(o, sizeof *o);
    const char *preset = *preset_name = args_value(a, "--preset");
    if (preset) {
        static const char *const names[] = {"flux", "sd3", "pixart", "wan"};
        static const int32_t ids[] = {NT5_PRESET_FLUX, NT5_PRESET_SD3, NT5_PRESET_PIXART, NT5_PRESET_WAN};
        size_t k = 0;
        while (k < 4 && strcmp(names[k], preset) != 0) k++;
        if (k == 4) {
            fprintf(stderr, "nt5 encode: unknown preset \"%s\" (flux, sd3, pixart, wan)\n", preset);
            return 2;
        }
        nt5_encode_options_preset(o, ids[k]);
    }
    const char *maxlen = args_value(a, "--max-length"), *dtype = args_value(a, "--dtype");
    long v;
    if (maxlen) {
        if (parse_int(maxlen, "--max-length", 1, 1 << 20, &v)) return 2;
        o->max_length = (int32_t)v;
    }
    if (args_flag(a, "--pad-to-max")) o->padding = NT5_PADDING_MAX_LENGTH;
    if (args_flag(a, "--no-mask")) o->attention = NT5_ATTEND_ALL;
    if (args_flag(a, "--no-truncation")) o->truncation = 0;
    if (args_flag(a, "--zero-padding")) o->zero_padding = 1;
    if (dtype) {
        if (strcmp(dtype, "f32") == 0) o->output_dtype = NT5_DTYPE_F32;
        else if (strcmp(dtype, "f16") == 0) o->output_dtype = NT5_DTYPE_F16;
        else if (strcmp(dtype, "bf16") == 0) o->output_dtype = NT5_DTYPE_BF16;
        else {
            fprintf(stderr, "nt5 encode: --dtype must be f32, f16 or bf16\n");
            return 2;
        }
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void summarise(const nt5_embeddings *e, const size_t shape[3], int json) {
    const size_t *lengths = nt5_embeddings_lengths(e);
    double sum = 0, sq = 0;
    size_t count = shape[0] * shape[1] * shape[2];
    const float *f32 = nt5_embeddings_dtype(e) == NT5_DTYPE_F32 ? nt5_embeddings_data(e) : NULL;
    for (size_t i = 0; f32 && i < count; i++) sum += f32[i], sq += (double)f32[i] * f32[i];
    double mean = count ? sum / (double)count : 0, std = count ? sqrt(sq / (double)count - mean * mean) : 0;
    if (json) {
        printf("{\"shape\": [%zu, %zu, %zu], \"lengths\": [", shape[0], shape[1], shape[2]);
        for (size_t b = 0; b < shape[0]; b++) printf(b ? ", %zu" : "%zu", lengths[b]);
        printf("]");
        if (f32) {
            printf(", \"mean\": ");
            json_number(stdout, mean, 9);
            printf(", \"std\": ");
            json_number(stdout, std, 9);
        }
        printf("}\n");
        return;
    }
    printf("hidden states [%zu, %zu, %zu], lengths", shape[0], shape[1], shape[2]);
    for (size_t b = 0; b < shape[0]; b++) printf(" %zu", lengths[b]);
    printf("\n");
    if (f32) {
        printf("mean %.6g std %.6g, first values:", mean, std);
        for (size_t i = 0; i < 6 && i < count; i++) printf(" %.6f", f32[i]);
        printf("\n");
    }
}

int cmd_encode(int argc, char **argv) {
    cli_args a;
    int early = args_begin(&a, argc, argv, help);
    if (early >= 0) return early;
    int rc = 0;
    nt5_model *m = NULL;
    nt5_embeddings *e = NULL;
    const char **texts = calloc((size_t)argc + 1, sizeof *texts);
    nt5_encode_options o;
    const char *preset, *input = args_value(&a, "--input");
    if ((rc = parse_options(&a, &o, &preset))) goto done;
    if (input) {
        rc = encode_corpus(&a, help, input, &o, preset);
        goto done;
    }
    const char *out = args_value(&a, "--output");
    if (!out) out = args_value(&a, "-o");
    int json = args_flag(&a, "--json"), quiet = args_flag(&a, "--quiet");
    if (out && !ends_with(out, ".npy") && !ends_with(out, ".safetensors")) {
        fprintf(stderr, "nt5 encode: --output must end in .npy or .safetensors\n");
        rc = 2;
        goto done;
    }
    size_t n = 0;
    if ((rc = model_and_texts(&a, "encode", help, 1, &m, texts, &n))) goto done;
    nt5_status st = nt5_encode_texts(m, texts, n, &o, &e);
    if (st != NT5_OK) {
        rc = report("encode", st);
        goto done;
    }
    size_t shape[3];
    nt5_embeddings_shape(e, &shape[0], &shape[1], &shape[2]);
    if (!out) summarise(e, shape, json);
    else if (ends_with(out, ".npy")) rc = write_npy(out, nt5_embeddings_data(e), nt5_embeddings_dtype(e), shape);
    else rc = write_safetensors(out, nt5_embeddings_data(e), nt5_embeddings_dtype(e), shape, nt5_embeddings_lengths(e));
    if (out && rc == 0 && !quiet)
        printf("wrote %s: hidden states [%zu, %zu, %zu] %s\n", out, shape[0], shape[1], shape[2],
               dtype_name(nt5_embeddings_dtype(e)));
done:
    nt5_embeddings_free(e);
    nt5_model_free(m);
    free(texts);
    args_free(&a);
    return rc;
}
