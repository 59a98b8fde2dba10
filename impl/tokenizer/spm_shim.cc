// The only C++ in nt5: sentencepiece behind a C interface. No exception
// crosses into C.
#include "tokenizer/spm_shim.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

struct spm_model {
    sentencepiece::SentencePieceProcessor sp;
};

static void copy_message(char *err, size_t cap, const std::string &msg) {
    if (!err || cap == 0) return;
    std::strncpy(err, msg.c_str(), cap - 1);
    err[cap - 1] = '\0';
}

// The model is freed however loading ends: sentencepiece's trie builder
// (darts-clone) throws on a piece it cannot hold, one with a NUL byte, and
// its message ("<file>:<line>: exception: <what>") is kept from "<what>".
template <typename Loader> static int load_with(Loader load, spm_model **out, char *err, size_t err_capacity) {
    try {
        std::unique_ptr<spm_model> m(new spm_model());
        auto status = load(m->sp);
        if (!status.ok()) {
            copy_message(err, err_capacity, status.ToString());
            return -1;
        }
        *out = m.release();
        return 0;
    } catch (const std::bad_alloc &) {
        copy_message(err, err_capacity, "out of memory");
        return -2;
    } catch (const std::exception &e) {
        const char *what = e.what() ? e.what() : "";
        const char *tail = std::strstr(what, "exception: ");
        if (err && err_capacity)
            std::snprintf(err, err_capacity, "sentencepiece failed to load the model: %s",
                          tail ? tail + std::strlen("exception: ") : what);
        return -1;
    } catch (...) {
        copy_message(err, err_capacity, "sentencepiece failed to load the model");
        return -1;
    }
}

extern "C" int spm_load_bytes(const void *bytes, size_t len, spm_model **out, char *err, size_t err_capacity) {
    return load_with(
        [bytes, len](sentencepiece::SentencePieceProcessor &sp) {
            return sp.LoadFromSerializedProto(std::string(static_cast<const char *>(bytes), len));
        },
        out, err, err_capacity);
}

extern "C" void spm_free(spm_model *m) { delete m; }

extern "C" int spm_piece_count(const spm_model *m) { return m->sp.GetPieceSize(); }

extern "C" int spm_encode(const spm_model *m, const char *text, size_t len, int **ids, size_t *n_ids) {
    try {
        std::vector<int> out;
        auto status = m->sp.Encode(std::string(text, len), &out);
        if (!status.ok()) return -1;
        int *buf = static_cast<int *>(std::malloc((out.size() ? out.size() : 1) * sizeof(int)));
        if (!buf) return -2;
        if (!out.empty()) std::memcpy(buf, out.data(), out.size() * sizeof(int));
        *ids = buf;
        *n_ids = out.size();
        return 0;
    } catch (const std::bad_alloc &) {
        return -2;
    } catch (...) {
        return -1;
    }
}

extern "C" const char *spm_id_to_piece(const spm_model *m, int id) {
    try {
        return m->sp.IdToPiece(id).c_str();
    } catch (...) {
        return "";
    }
}

extern "C" int spm_decode_pieces(const spm_model *m, const char *const *pieces, size_t n, char **out, size_t *out_len) {
    try {
        std::vector<std::string> list(pieces, pieces + n);
        std::string text;
        auto status = m->sp.Decode(list, &text);
        if (!status.ok()) return -1;
        char *buf = static_cast<char *>(std::malloc(text.size() + 1));
        if (!buf) return -2;
        std::memcpy(buf, text.data(), text.size());
        buf[text.size()] = '\0';
        *out = buf;
        *out_len = text.size();
        return 0;
    } catch (const std::bad_alloc &) {
        return -2;
    } catch (...) {
        return -1;
    }
}
