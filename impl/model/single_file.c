#include "model/single_file.h"

#include "base/error.h"
#include "model/config_infer.h"

/* "spiece_model" beside the T5 tensors, or at the top of the file. */
static const st_tensor *embedded_spiece(const checkpoint *ck) {
    const st_tensor *t = ckpt_find(ck, "spiece_model");
    for (size_t i = 0; !t && i < ck->count; i++) t = st_find(ck->files[i], "spiece_model");
    return t;
}

static nt5_status open_tokenizer(const st_tensor *t, const char *what, int vocab_size, tokenizer **tok) {
    if (t->dtype != ST_U8)
        return err_set(NT5_ERR_FORMAT, "%s: tensor spiece_model is %s, not the U8 bytes of a sentencepiece model", what,
                       t->dtype_name);
    return tok_open_spiece(t->data, t->nbytes, vocab_size, what, tok);
}

nt5_status single_file_read_header(const checkpoint *ck, const char *what, const char *config_path, t5_config *cfg,
                                   tokenizer **tok) {
    *tok = NULL;
    cJSON *config = NULL;
    nt5_status st = config_infer(ck, what, &config);
    if (st == NT5_OK) st = config_from_inferred(config, config_path, what, cfg);
    cJSON_Delete(config);
    const st_tensor *spiece = st == NT5_OK ? embedded_spiece(ck) : NULL;
    if (spiece) st = open_tokenizer(spiece, what, cfg->vocab_size, tok);
    return st;
}
