/* libFuzzer harness: opening one model file through the public API, from a
 * memfd, as nt5_model_open opens any file: an nt5 file (header, metadata
 * config, f16 scales, the 'blocks' of format 3 and the parts of mixed fused
 * matrices, embedded tokenizer), a single safetensors checkpoint, or a GGUF
 * file (hyper-parameters, tensor names mapped to the T5 layout, shapes and
 * block types against the config, block scales, the parts of the _M mixes'
 * fused q, k, v, the tokenizer rebuilt from the metadata). A model that opens
 * encodes 3 ids; one with a decoder then generates greedily at most 2 tokens
 * from a text (tokenized and detokenized by the file's tokenizer), or from
 * ids when it has none. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nt5.h"

static void use(const nt5_model *m) {
    int32_t ids[] = {5, 6, 1};
    size_t n = 3;
    nt5_embeddings *e = NULL;
    nt5_encode_ids(m, ids, &n, 1, NULL, &e);
    nt5_embeddings_free(e);
    nt5_model_info info;
    info.struct_size = sizeof info;
    if (nt5_model_get_info(m, &info) != NT5_OK || !info.has_decoder) return;
    nt5_generate_options go;
    nt5_generate_options_init(&go, sizeof go);
    go.max_new_tokens = 2;
    nt5_generation *g = NULL;
    if (info.tokenizer_size > 0) {
        const char *texts[] = {"Hello <extra_id_0> world!"};
        nt5_generate_texts(m, texts, 1, &go, &g);
    } else {
        nt5_generate_ids(m, ids, &n, 1, &go, &g);
    }
    nt5_generation_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("nt5-fuzz", MFD_CLOEXEC);
    if (fd < 0) return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (write(fd, data, size) == (ssize_t)size) {
        nt5_model_options o;
        nt5_model_options_init(&o, sizeof o);
        o.device = "cpu";
        o.num_threads = 1;
        nt5_model *m = NULL;
        if (nt5_model_open(path, &o, &m) == NT5_OK) use(m);
        nt5_model_free(m);
    }
    close(fd);
    return 0;
}
