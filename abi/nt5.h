/*
 * nt5.h - the public C ABI of libnt5, a T5-family inference library
 * (T5 v1.0, T5 v1.1 / flan-t5, mT5, UMT5).
 *
 * This is the only header users include. It is C99, has no CUDA or C++
 * types, and only ever grows: functions and constants are appended, option
 * and info structs only gain fields at their end (see "Option structs").
 *
 * ---------------------------------------------------------------------------
 * Conventions
 * ---------------------------------------------------------------------------
 * Errors.   Every fallible function returns an nt5_status (NT5_OK == 0,
 *           errors are negative). On failure a message describing the
 *           problem is stored for the calling thread and can be read with
 *           nt5_last_error(). The library never aborts, exits or prints.
 *
 * Memory.   Inputs (strings, arrays, option structs) are borrowed for the
 *           duration of the call only. Objects the library allocates are
 *           returned through opaque handles and freed with their own
 *           nt5_*_free function; every free function accepts NULL. Pointers
 *           returned by accessors of a handle stay valid until that handle
 *           is freed. Strings are UTF-8 and NUL-terminated.
 *
 * Threads.  An nt5_model is immutable after nt5_model_open() returns and may
 *           be used by any number of threads at once: every call allocates
 *           its own scratch state. nt5_last_error() is thread-local. Result
 *           handles (nt5_embeddings, nt5_generation) may be read from any
 *           thread but must not be freed while another thread reads them.
 *           Callbacks run synchronously on the thread that made the call and
 *           must not free the model they are called for.
 *
 * Option structs.  Every options struct begins with `uint32_t struct_size`.
 *           Fill it with the matching nt5_*_options_init(&opts, sizeof opts)
 *           and then change fields. The library reads only the first
 *           struct_size bytes and uses defaults for the fields beyond, so a
 *           program compiled against an older, smaller struct keeps working
 *           with a newer library; a struct_size larger than the library
 *           knows is refused with NT5_ERR_INVALID_ARG. Passing NULL for an
 *           options pointer means "all defaults". Info structs work the same
 *           way in the other direction: the library fills struct_size bytes.
 * ---------------------------------------------------------------------------
 */
#ifndef NT5_H
#define NT5_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(NT5_BUILD)
#define NT5_API __declspec(dllexport)
#elif defined(_WIN32)
#define NT5_API __declspec(dllimport)
#elif defined(__GNUC__)
#define NT5_API __attribute__((visibility("default")))
#else
#define NT5_API
#endif

/* ---- Versions ------------------------------------------------------------ */

#define NT5_VERSION_MAJOR 0
#define NT5_VERSION_MINOR 8
#define NT5_VERSION_PATCH 1
#define NT5_VERSION_NUMBER (NT5_VERSION_MAJOR * 10000 + NT5_VERSION_MINOR * 100 + NT5_VERSION_PATCH)

/* Bumped whenever anything is appended to this header. The soname is
 * libnt5.so.1 for the whole life of ABI generation 1. */
#define NT5_ABI_VERSION 7

/* The ABI version of the loaded library; a program compiled against this
 * header needs nt5_abi_version() >= NT5_ABI_VERSION. */
NT5_API uint32_t nt5_abi_version(void);
/* The release string, e.g. "0.1.0". Static storage. */
NT5_API const char *nt5_version(void);

/* ---- Status codes -------------------------------------------------------- */

typedef int32_t nt5_status;

#define NT5_OK 0
#define NT5_ERR_INVALID_ARG (-1) /* NULL, out of range, bad option struct */
#define NT5_ERR_IO (-2)          /* a file could not be opened or read */
#define NT5_ERR_FORMAT (-3)      /* malformed config/weights/tokenizer file */
#define NT5_ERR_UNSUPPORTED (-4) /* valid but not supported (model type...) */
#define NT5_ERR_OUT_OF_MEMORY (-5)
#define NT5_ERR_BUFFER_TOO_SMALL (-6) /* the needed size is returned */
#define NT5_ERR_CANCELLED (-7)        /* a callback asked to stop */
#define NT5_ERR_TOO_LONG (-8)         /* input over max length, truncation off */
#define NT5_ERR_NO_DEVICE (-9)        /* the requested device is not available */
#define NT5_ERR_DEVICE (-10)          /* an error reported by the device runtime */
#define NT5_ERR_AUTH (-11)            /* reserved for the hub */
#define NT5_ERR_NOT_FOUND (-12)       /* a file or tensor that must exist is missing */
#define NT5_ERR_NETWORK (-13)         /* reserved for the hub */
#define NT5_ERR_INTERNAL (-99)

/* Static name of a status, e.g. "NT5_ERR_IO"; "NT5_ERR_UNKNOWN" otherwise. */
NT5_API const char *nt5_status_name(nt5_status status);
/* Message of the last failed call on this thread ("" if none). Valid until
 * the next nt5 call on this thread. */
NT5_API const char *nt5_last_error(void);

/* ---- Constants used in option and info structs ---------------------------- */

#define NT5_DTYPE_F32 0
#define NT5_DTYPE_F16 1
#define NT5_DTYPE_BF16 2
/* Since NT5_ABI_VERSION 5, weight storage only (nt5_model_options.weight_dtype,
 * nt5_model_info.weight_dtype): ggml's Q8_0 blocks, 32 weights as an f16
 * scale and 32 int8 (8.5 bits a weight), as GGUF files store them. */
#define NT5_DTYPE_Q8_0 3
/* Since NT5_ABI_VERSION 6, weight storage only: ggml's k-quant blocks of
 * 256 weights, as GGUF files store them: Q6_K (6.5625 bits a weight), Q5_K
 * (5.5) and Q4_K (4.5). */
#define NT5_DTYPE_Q6_K 4
#define NT5_DTYPE_Q5_K 5
#define NT5_DTYPE_Q4_K 6
#define NT5_DTYPE_AUTO (-1) /* nt5_model_options.weight_dtype only */

#define NT5_DEVICE_CPU 1
#define NT5_DEVICE_CUDA 2

#define NT5_MODEL_T5 1   /* T5 v1.0, v1.1, flan-t5, Pile-T5 (model_type "t5") */
#define NT5_MODEL_MT5 2  /* model_type "mt5" */
#define NT5_MODEL_UMT5 3 /* model_type "umt5": position bias in every layer */

/* ---- Models -------------------------------------------------------------- */

typedef struct nt5_model nt5_model;

/* Download progress of one file ("org/name/file"): bytes done and the total
 * (0 if unknown). Return 0 to go on, nonzero to cancel (NT5_ERR_CANCELLED;
 * what was downloaded so far is kept and resumed by the next call). It also
 * receives notes for people, `file` beginning with "note: " and done and
 * total 0 (the Hub could not be reached and a cached snapshot is used): the
 * library prints nothing itself. */
typedef int32_t (*nt5_progress_callback)(const char *file, uint64_t done, uint64_t total, void *user_data);

typedef struct nt5_model_options {
    uint32_t struct_size;
    /* "auto" (default, also NULL), "cpu", "cuda" or "cuda:N". auto picks a
     * GPU when one is usable and the CPU otherwise. On a GPU, nt5 gives
     * the calling thread's current CUDA device back as it found it, and
     * keeps its working memory in a pool of its own, released when the
     * model is freed. An error that ends CUDA in the process (an illegal
     * address, a failed launch) makes every later call on the model fail
     * at once with NT5_ERR_DEVICE; CUDA works again only in a new process. */
    const char *device;
    /* CPU threads used by each call; 0 (default) = all online cores. */
    int32_t num_threads;
    /* 1: load only the encoder (no decoder or lm_head in memory); generation
     * then fails with NT5_ERR_UNSUPPORTED. Default 0. */
    int32_t encoder_only;
    /* Storage of the weight matrices: NT5_DTYPE_F32, or NT5_DTYPE_BF16,
     * which halves their memory and speeds up decoding, or NT5_DTYPE_F16
     * (on the CPU from any source since release 0.7.0, which earlier ones
     * refuse with NT5_ERR_UNSUPPORTED; on a GPU from an f16 nt5 file with
     * calibrated scales, nt5_convert; a Hub id is converted into the cache
     * on first use).
     * NT5_DTYPE_AUTO (default) keeps bf16 checkpoints in bf16 (lossless);
     * on the CPU it stores the others in f32 (f16 files are widened), on a
     * GPU calibrated f16 files in f16 and the others in bf16. The CPU
     * computes in fp32 either way; the GPU in the weights' dtype with fp32
     * accumulation and an fp32 residual stream (compute_dtype in
     * nt5_model_info). Since NT5_ABI_VERSION 5, NT5_DTYPE_Q8_0, and since
     * 6 NT5_DTYPE_Q6_K, _Q5_K and _Q4_K: the matrices in ggml's blocks
     * (quantized at load as ggml's reference quantizer does; a GGUF file's
     * blocks of any of these types as they are, which NT5_DTYPE_AUTO also
     * keeps: it takes the type of the file's first encoder query), the
     * embedding in Q8_0 (since 0.7.0; fp32 when tied to the lm_head), norms
     * and position biases in fp32. A matrix whose rows are not whole
     * 256-weight blocks is stored in Q8_0 instead (e.g. the attention output
     * of t5-v1_1-small, 384 wide), or f32 if not whole 32-weight blocks
     * either; nt5_model_info.weight_dtype reports the requested type. A GPU
     * stores bf16 instead, for now. */
    int32_t weight_dtype;
    /* Hub models (nt5_model_open with a model id such as "google/flan-t5-base"): */
    const char *revision;              /* branch, tag or commit; NULL = "main" */
    const char *cache_dir;             /* NULL = HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub */
    const char *token;                 /* NULL = HF_TOKEN, else the token file ($HF_HOME/token) */
    int32_t offline;                   /* 1: use only the cache (as does HF_HUB_OFFLINE=1) */
    nt5_progress_callback on_progress; /* optional, per downloaded file */
    void *progress_user_data;
    /* Since NT5_ABI_VERSION 3. f32 weights on a GPU: 1 lets the matrix
     * products use TF32 tensor cores (inputs rounded to 10 mantissa bits,
     * fp32 accumulation: several times faster, about 1e-3 relative); 0
     * (default) keeps them exact fp32 for parity with the CPU. Ignored for
     * bf16/f16 weights and on the CPU. */
    int32_t allow_tf32;
    /* Since NT5_ABI_VERSION 4. Weights are checked for NaN and infinities as
     * they load (nt5_model_info.non_finite_weights counts them; PyTorch
     * computes with them, and its outputs are NaN); 1 makes nt5_model_open
     * fail instead, with NT5_ERR_FORMAT naming the first such tensor.
     * Default 0. */
    int32_t refuse_non_finite_weights;
    /* Since NT5_ABI_VERSION 4. The tokenizer to use instead of the model's
     * own: a directory with spiece.model (and tokenizer_config.json), a
     * spiece.model file, or a Hub reference to a repo or folder holding
     * them (only those files are fetched: "google/t5-v1_1-xxl"). NULL (default): the model's (spiece.model beside
     * config.json, the spiece_model tensor of a single checkpoint file, the
     * nt5 file's); a model without one takes token ids only. */
    const char *tokenizer;
    /* Since NT5_ABI_VERSION 4. A config.json to use: for a directory instead
     * of its own; for a single checkpoint file or a GGUF file, whose config
     * nt5 infers, its keys replace the inferred ones. NULL (default): none. */
    const char *config;
} nt5_model_options;

NT5_API nt5_status nt5_model_options_init(nt5_model_options *opts, uint32_t struct_size);

/* Opens a model from:
 * - a Hugging Face layout directory: config.json and model.safetensors or a
 *   sharded model.safetensors.index.json, plus spiece.model (and
 *   tokenizer_config.json) for the tokenizer; weights F32, F16 or BF16;
 * - an nt5 file written by nt5_model_save();
 * - a Hub model id ("google/flan-t5-base") when no such local path exists:
 *   the files are taken from the huggingface_hub cache, downloaded into it
 *   first when missing (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE are honoured;
 *   see the hub fields of nt5_model_options).
 * On success *out owns the model; free it with nt5_model_free(). */
NT5_API nt5_status nt5_model_open(const char *path, const nt5_model_options *opts, nt5_model **out);
NT5_API void nt5_model_free(nt5_model *model);

/* Writes the model as one nt5 file: its weights in nt5's fused layout and
 * the model's weight dtype, the normalised config and the tokenizer, which
 * nt5_model_open() loads without anything else. The file is written under a
 * temporary name beside `path` and renamed, so `path` is never left
 * half-written. */
NT5_API nt5_status nt5_model_save(const nt5_model *model, const char *path);

/* Writes the model in Hugging Face layout into the new directory `dir`:
 * model.safetensors under the state-dict names save_pretrained uses, in
 * the model's weight dtype, plus config.json, the tokenizer files and a
 * short README.md. Turns a repo that ships only PyTorch .bin weights into
 * safetensors. Built in a temporary directory and renamed; fails if `dir`
 * exists. */
NT5_API nt5_status nt5_model_save_hf(const nt5_model *model, const char *dir);

/* Downloads (or finds in the cache) the files nt5 needs of a Hub model,
 * without opening it, using the hub fields of opts. Writes the snapshot
 * directory, NUL-terminated, into dir (at most capacity bytes; needed
 * length without the NUL in *length, NT5_ERR_BUFFER_TOO_SMALL if it does not
 * fit). Errors: NT5_ERR_AUTH (401/403: set HF_TOKEN), NT5_ERR_NOT_FOUND (repo,
 * revision or file), NT5_ERR_NETWORK, NT5_ERR_UNSUPPORTED (.bin-only repos). */
NT5_API nt5_status nt5_hub_download(const char *model_id, const nt5_model_options *opts, char *dir, size_t capacity,
                                    size_t *length);

/* ---- Conversion (since NT5_ABI_VERSION 2) ----------------------------------- */

#define NT5_FORMAT_NT5 0 /* one nt5 file, as nt5_model_save writes */
#define NT5_FORMAT_HF 1  /* a Hugging Face layout directory, as nt5_model_save_hf writes */

typedef struct nt5_convert_options {
    uint32_t struct_size;
    int32_t format; /* NT5_FORMAT_*, default NT5_FORMAT_NT5 */
    /* Storage of the weight matrices: NT5_DTYPE_AUTO (default: bf16
     * checkpoints stay bf16, others become f32), NT5_DTYPE_F32,
     * NT5_DTYPE_BF16, or NT5_DTYPE_F16 (nt5 format only): each matrix stored
     * with a power-of-two scale, plus power-of-two input scales calibrated by
     * an fp32 run over calibration_texts so that half-precision products
     * cannot overflow (f16_headroom). Opened on the CPU, f16 weights are
     * widened to f32 (weight_dtype auto) or kept (F16). Since NT5_ABI_VERSION 6 (nt5 format only),
     * NT5_DTYPE_Q8_0, _Q6_K, _Q5_K, _Q4_K: the matrices quantized as
     * weight_dtype does at load (a GGUF file's blocks of that type kept),
     * stored as ggml blocks (nt5 file format 2; 3 when a fused matrix of a
     * GGUF _M mix is held in parts of two block types); AUTO keeps a quantized
     * source's blocks in the nt5 format and writes the HF layout in f32. */
    int32_t dtype;
    int32_t encoder_only; /* 1: the encoder's weights only. Default 0 */
    /* 1: multiply each RMSNorm scale into the matrices it feeds, which then
     * read normalised inputs (the norms become ones): the same function
     * with a multiply less per norm. Default 0. */
    int32_t fold_norm_scales;
    /* F16: the largest calibrated input times this factor must fit in f16
     * (65504). 0 (default) = 8. */
    float f16_headroom;
    /* F16: the prompts of the calibration run; NULL (default) = a built-in
     * set of 12 (instructions, translation, summary, code, numbers, several
     * languages). */
    const char *const *calibration_texts;
    size_t num_calibration_texts;
    /* How src is opened: the hub fields (revision, cache_dir, token,
     * offline, on_progress, which also reports "calibrating" with prompts
     * done and in all, and "writing <path>" with bytes (tensors for
     * NT5_FORMAT_HF); nonzero cancels and leaves no file) and num_threads. NULL: defaults. Conversion runs on
     * the CPU; device and weight_dtype are not used. */
    const nt5_model_options *source;
} nt5_convert_options;

NT5_API nt5_status nt5_convert_options_init(nt5_convert_options *opts, uint32_t struct_size);

/* Converts src (a directory, nt5 file or Hub id, as nt5_model_open takes
 * them) into dst without handing out a model. dst NULL: src must be a Hub
 * id and the nt5 file is kept in nt5's own cache beside the Hub cache
 * ($NT5_CACHE, else $XDG_CACHE_HOME/nt5, else ~/.cache/nt5),
 * <nt5 cache>/models--org--name/<commit>/converted/<name>.nt5, the name made
 * of the options (dtype, encoder-only, folding, f16 headroom and
 * calibration texts), and a file already there is reused as it is. The
 * written path is returned like nt5_hub_download's (path may be NULL when
 * capacity is 0). Files are written under a temporary name and renamed; an
 * HF directory must not exist yet. */
NT5_API nt5_status nt5_convert(const char *src, const char *dst, const nt5_convert_options *opts, char *path,
                               size_t capacity, size_t *length);

typedef struct nt5_model_info {
    uint32_t struct_size; /* set by the caller; the library fills that much */
    int32_t model_type;   /* NT5_MODEL_* */
    int32_t d_model;
    int32_t d_kv;
    int32_t d_ff;
    int32_t num_heads;
    int32_t num_layers;         /* encoder blocks */
    int32_t num_decoder_layers; /* decoder blocks (0 if encoder-only) */
    int32_t vocab_size;         /* rows of the embedding / lm_head */
    int32_t tokenizer_size;     /* valid token ids are 0..tokenizer_size-1; 0 if no tokenizer */
    int32_t relative_attention_num_buckets;
    int32_t relative_attention_max_distance;
    int32_t is_gated_act;
    int32_t tie_word_embeddings;
    int32_t pad_token_id;
    int32_t eos_token_id;
    int32_t decoder_start_token_id;
    int32_t max_input_length; /* default max length of inputs (tokenizer's model_max_length) */
    int32_t has_decoder;
    int32_t device;        /* NT5_DEVICE_* the model runs on */
    int32_t compute_dtype; /* NT5_DTYPE_* of the arithmetic */
    int32_t weight_dtype;  /* NT5_DTYPE_* the weight matrices are stored in */
    int32_t num_threads;
    const char *model_type_name; /* "t5", "mt5", "umt5"; owned by the model */
    const char *activation_name; /* "relu", "gelu_new", ...; owned by the model */
    /* Since NT5_ABI_VERSION 4. NaN and infinite values among the weights as
     * loaded, and the checkpoint tensor that holds the first of them (its
     * Hugging Face name; NULL when there is none; owned by the model). */
    int64_t non_finite_weights;
    const char *first_non_finite_weight;
    /* Since NT5_ABI_VERSION 4. What was opened, for people (owned by the
     * model): the format ("Hugging Face directory", "single safetensors
     * file, T5 tensors under \"text_encoders.t5xxl.transformer.\"", "GGUF
     * version 3", "nt5 file"), how the weights were stored there ("F8_E4M3
     * 168, F16 52"), and where the tokenizer came from (NULL when there is
     * none). */
    const char *format;
    const char *weights_stored;
    const char *tokenizer_source;
} nt5_model_info;

NT5_API nt5_status nt5_model_get_info(const nt5_model *model, nt5_model_info *info);

/* ---- Tokenizer ------------------------------------------------------------ */

/* Tokenizes like Hugging Face's T5Tokenizer (legacy mode): the special tokens
 * </s>, <pad>, <unk> and <extra_id_N> are matched in the text, the rest goes
 * through sentencepiece, and </s> is appended unless the ids already end with
 * it (NT5_TOKENIZE_NO_EOS turns that off). Writes at most `capacity` ids; if
 * more are needed returns NT5_ERR_BUFFER_TOO_SMALL. *n_ids always receives
 * the number of ids of the full result. Invalid UTF-8 gives
 * NT5_ERR_INVALID_ARG. */
#define NT5_TOKENIZE_NO_EOS 1
NT5_API nt5_status nt5_tokenize(const nt5_model *model, const char *text, int32_t flags, int32_t *ids, size_t capacity,
                                size_t *n_ids);

/* Turns ids back into text like T5Tokenizer.decode. Flags:
 * NT5_DETOKENIZE_SKIP_SPECIAL drops </s>, <pad>, <unk> and <extra_id_N>;
 * NT5_DETOKENIZE_NO_CLEANUP keeps " ." etc. (clean_up_tokenization_spaces
 * false). Writes a NUL-terminated string of at most capacity bytes;
 * *text_len receives its length without the NUL. Ids between the tokenizer
 * size and the model's vocab size decode to nothing. */
#define NT5_DETOKENIZE_SKIP_SPECIAL 1
#define NT5_DETOKENIZE_NO_CLEANUP 2
NT5_API nt5_status nt5_detokenize(const nt5_model *model, const int32_t *ids, size_t n_ids, int32_t flags, char *text,
                                  size_t capacity, size_t *text_len);

/* ---- Encoding (text -> hidden states) -------------------------------------- */

#define NT5_PADDING_LONGEST 0    /* pad the batch to its longest input */
#define NT5_PADDING_MAX_LENGTH 1 /* pad every row to max_length */

#define NT5_ATTEND_MASKED 0 /* padding keys are masked (Hugging Face with attention_mask) */
#define NT5_ATTEND_ALL 1    /* no mask: pad tokens are attended (diffusers Flux, SD3) */

typedef struct nt5_encode_options {
    uint32_t struct_size;
    int32_t padding;      /* NT5_PADDING_*, default LONGEST */
    int32_t max_length;   /* tokens including </s>; 0 (default) = model's max input length */
    int32_t truncation;   /* 1 (default): cut longer inputs to max_length (keeping </s> for
                              texts); 0: such inputs fail with NT5_ERR_TOO_LONG */
    int32_t attention;    /* NT5_ATTEND_*, default MASKED */
    int32_t output_dtype; /* NT5_DTYPE_*, default F32 */
    int32_t zero_padding; /* 1: rows at padded positions are set to zero (with a mask, a CPU
                              model then skips their work). Default 0 */
    /* Since NT5_ABI_VERSION 2. Where the hidden states go: NT5_MEMORY_HOST
     * (default), or NT5_MEMORY_DEVICE: the memory of the GPU the model runs
     * on (models on a CUDA device; output_buffer is then required). */
    int32_t output_memory;
    /* Since NT5_ABI_VERSION 2. Optional caller buffer of output_capacity
     * bytes, in host or device memory as output_memory says, that receives
     * the hidden states [batch, seq_len, d_model] in output_dtype instead of
     * memory the embeddings own; nt5_embeddings_data() then returns it, and
     * it must outlive the embeddings' use. Too small: NT5_ERR_BUFFER_TOO_SMALL
     * (with NT5_PADDING_MAX_LENGTH the size is batch * max_length * d_model
     * * the dtype's size). NULL (default): the embeddings own host memory. */
    void *output_buffer;
    size_t output_capacity;
    /* Since NT5_ABI_VERSION 7. The most CPU threads this call works on, of
     * the model's num_threads: calls made at once from several threads on
     * one model (one batch each) then share its threads instead of
     * contending for them. 0 (default) or more than the model has: all of
     * them; negative: NT5_ERR_INVALID_ARG. A GPU model ignores it. Results
     * can differ in the last bits between thread counts (BLAS sums a
     * product's columns by tiles; the pieces a product is cut into follow
     * the threads), as between models opened with other num_threads; the
     * same count gives the same bits. */
    int32_t num_threads;
} nt5_encode_options;

#define NT5_MEMORY_HOST 0
#define NT5_MEMORY_DEVICE 1

NT5_API nt5_status nt5_encode_options_init(nt5_encode_options *opts, uint32_t struct_size);

#define NT5_PRESET_FLUX 1   /* 512 tokens, fixed length, no mask */
#define NT5_PRESET_SD3 2    /* 256 tokens, fixed length, no mask */
#define NT5_PRESET_PIXART 3 /* 300 tokens, fixed length, masked */
#define NT5_PRESET_WAN 4    /* UMT5, 512 tokens, fixed length, masked, padded rows zeroed */
/* Sets padding, max_length, truncation, attention and zero_padding as the
 * named pipeline does; output_dtype is left as it is. */
NT5_API nt5_status nt5_encode_options_preset(nt5_encode_options *opts, int32_t preset);

typedef struct nt5_embeddings nt5_embeddings;

/* Encodes `batch` texts. On success *out holds hidden states
 * [batch, seq_len, d_model] of the final encoder layer (after its RMSNorm). */
NT5_API nt5_status nt5_encode_texts(const nt5_model *model, const char *const *texts, size_t batch,
                                    const nt5_encode_options *opts, nt5_embeddings **out);
/* Encodes token ids: `ids` holds the rows one after another, row i has
 * lengths[i] ids (at least 1). Ids are used as given (no </s> is added);
 * rows longer than max_length are cut to their first max_length ids when
 * truncation is on. */
NT5_API nt5_status nt5_encode_ids(const nt5_model *model, const int32_t *ids, const size_t *lengths, size_t batch,
                                  const nt5_encode_options *opts, nt5_embeddings **out);

/* Shape of the hidden states. Any output pointer may be NULL. */
NT5_API nt5_status nt5_embeddings_shape(const nt5_embeddings *emb, size_t *batch, size_t *seq_len, size_t *d_model);
/* NT5_DTYPE_* of nt5_embeddings_data(), or -1 for NULL. */
NT5_API int32_t nt5_embeddings_dtype(const nt5_embeddings *emb);
/* Row-major [batch, seq_len, d_model] values in the requested dtype: owned
 * by emb, or the caller's output_buffer (then in host or device memory as
 * output_memory said). */
NT5_API const void *nt5_embeddings_data(const nt5_embeddings *emb);
/* [batch] number of real tokens in each row (the mask is position < length). */
NT5_API const size_t *nt5_embeddings_lengths(const nt5_embeddings *emb);
/* [batch, seq_len] the padded token ids that were encoded. */
NT5_API const int32_t *nt5_embeddings_token_ids(const nt5_embeddings *emb);
NT5_API void nt5_embeddings_free(nt5_embeddings *emb);

/* ---- Generation ------------------------------------------------------------ */

typedef struct nt5_token_event {
    uint32_t struct_size;
    int32_t token_id;      /* the new token, or -1 for beam search progress */
    size_t sequence_index; /* index of the input in the batch */
    int32_t step;          /* 0 for the first new token */
    const char *text;      /* text this token added to the sequence's decoded text
                              (special tokens skipped); "" for beam search.
                              Valid only during the callback. */
} nt5_token_event;

/* Called after every decoding step (once per sequence that got a token, or
 * once per step for beam search). Return 0 to go on, nonzero to cancel: the
 * call then returns NT5_ERR_CANCELLED and the model stays usable. */
typedef int32_t (*nt5_token_callback)(const nt5_token_event *event, void *user_data);

typedef struct nt5_generate_options {
    uint32_t struct_size;
    int32_t max_new_tokens;       /* default 64 (</s> counts) */
    int32_t min_new_tokens;       /* </s> is forbidden before this many; default 0 */
    int32_t num_beams;            /* 1 (default): greedy or sampling; >1: beam search */
    int32_t do_sample;            /* 1: sample (num_beams must be 1); default 0 */
    float temperature;            /* sampling temperature, default 1.0 */
    int32_t top_k;                /* sampling: keep the k most likely tokens; 0 (default) = off */
    float top_p;                  /* sampling: nucleus probability; 1.0 (default) = off */
    uint64_t seed;                /* sampling: same seed, same model, same inputs -> same output;
                                   * default 0 (a fixed seed: the nt5 tool draws a fresh one) */
    float length_penalty;         /* beam search: score / length^length_penalty; default 1.0 */
    int32_t early_stopping;       /* beam search: stop once num_beams hypotheses end; default 0 */
    int32_t num_return_sequences; /* per input, <= num_beams for beam search; default 1 */
    float repetition_penalty;     /* > 0; 1.0 (default) = off (CTRL-style penalty) */
    int32_t no_repeat_ngram_size; /* 0 (default) = off */
    int32_t max_input_length;     /* 0 (default) = model's max input length */
    int32_t truncation;           /* 1 (default): cut longer inputs; 0: NT5_ERR_TOO_LONG */
    nt5_token_callback on_token;  /* optional streaming / cancellation callback */
    void *user_data;              /* passed to on_token */
    /* Since NT5_ABI_VERSION 7. The most CPU threads this call works on, as
     * nt5_encode_options.num_threads says; 0 (default): all of the model's. */
    int32_t num_threads;
} nt5_generate_options;

NT5_API nt5_status nt5_generate_options_init(nt5_generate_options *opts, uint32_t struct_size);

typedef struct nt5_generation nt5_generation;

/* Generates for `batch` texts. Each input is decoded independently (a batch
 * gives the same ids as one input at a time). On success *out holds
 * batch * num_return_sequences sequences, ordered by input, then by rank. */
NT5_API nt5_status nt5_generate_texts(const nt5_model *model, const char *const *texts, size_t batch,
                                      const nt5_generate_options *opts, nt5_generation **out);
/* Same from token ids laid out as for nt5_encode_ids (no </s> is added). */
NT5_API nt5_status nt5_generate_ids(const nt5_model *model, const int32_t *ids, const size_t *lengths, size_t batch,
                                    const nt5_generate_options *opts, nt5_generation **out);

NT5_API size_t nt5_generation_count(const nt5_generation *gen);
/* Sequence `index`: its new token ids (without the decoder start token, with
 * </s> if it ended that way), its text (special tokens skipped, cleaned up)
 * and its score: the sum of the log-probabilities of its tokens divided by
 * length^length_penalty (for beam search exactly Hugging Face's
 * sequences_scores). Pointers are owned by gen; any output may be NULL. */
NT5_API nt5_status nt5_generation_get(const nt5_generation *gen, size_t index, const int32_t **ids, size_t *n_ids,
                                      const char **text, float *score);
NT5_API void nt5_generation_free(nt5_generation *gen);

#ifdef __cplusplus
}
#endif

#endif /* NT5_H */
