// Package nt5 runs T5-family models (encoding and generation) through
// libnt5. A Model may be used by many goroutines at once; close it with
// Close (a finalizer frees it otherwise).
package nt5

/*
#cgo pkg-config: nt5
#include <stdint.h>
#include <stdlib.h>
#include "nt5go_generated.h"

extern int32_t nt5goTokenCallback(nt5_token_event *event, void *user_data);

static int32_t nt5go_trampoline(const nt5_token_event *event, void *user_data) {
    return nt5goTokenCallback((nt5_token_event *)event, user_data);
}

static void nt5go_set_callback(nt5_generate_options *o, uintptr_t handle) {
    o->on_token = nt5go_trampoline;
    o->user_data = (void *)handle;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

const errCapacity = 1024

// Error is a failed call: the library's status and message.
type Error struct {
	Status  int32
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("nt5: %s (%s)", e.Message, StatusName(e.Status)) }

// StatusName is the name of a status code, e.g. "NT5_ERR_NOT_FOUND".
func StatusName(status int32) string { return C.GoString(C.nt5_status_name(C.nt5_status(status))) }

// Version is the release string of the loaded library.
func Version() string { return C.GoString(C.nt5_version()) }

// call runs f with an error buffer that the generated wrapper fills on the
// OS thread that failed, and turns a status into an *Error.
func call(f func(err *C.char, capacity C.size_t) C.nt5_status) error {
	buf := (*C.char)(C.malloc(errCapacity))
	defer C.free(unsafe.Pointer(buf))
	*buf = 0
	st := f(buf, errCapacity)
	if st == C.NT5_OK {
		return nil
	}
	return &Error{Status: int32(st), Message: C.GoString(buf)}
}

// Model is an opened model.
type Model struct {
	ptr *C.nt5_model
}

// Option changes how Open opens a model.
type Option func(*C.nt5_model_options, *[]unsafe.Pointer)

// WithDevice picks "auto" (default), "cpu", "cuda" or "cuda:N".
func WithDevice(device string) Option {
	return func(o *C.nt5_model_options, keep *[]unsafe.Pointer) {
		s := C.CString(device)
		*keep = append(*keep, unsafe.Pointer(s))
		o.device = s
	}
}

// WithTokenizer uses a tokenizer instead of the model's own: a directory with
// spiece.model, or a spiece.model file.
func WithTokenizer(path string) Option {
	return func(o *C.nt5_model_options, keep *[]unsafe.Pointer) {
		s := C.CString(path)
		*keep = append(*keep, unsafe.Pointer(s))
		o.tokenizer = s
	}
}

// WithConfig uses a config.json: a directory's instead of its own, or over
// what nt5 infers for a single .safetensors or .gguf file.
func WithConfig(path string) Option {
	return func(o *C.nt5_model_options, keep *[]unsafe.Pointer) {
		s := C.CString(path)
		*keep = append(*keep, unsafe.Pointer(s))
		o.config = s
	}
}

// WithThreads sets the CPU threads per call (0: all cores).
func WithThreads(n int) Option {
	return func(o *C.nt5_model_options, _ *[]unsafe.Pointer) { o.num_threads = C.int32_t(n) }
}

// WithEncoderOnly loads only the encoder.
func WithEncoderOnly() Option {
	return func(o *C.nt5_model_options, _ *[]unsafe.Pointer) { o.encoder_only = 1 }
}

// WithWeightDType stores the weights as DtypeF32 or DtypeBf16 (default DtypeAuto).
func WithWeightDType(dtype int) Option {
	return func(o *C.nt5_model_options, _ *[]unsafe.Pointer) { o.weight_dtype = C.int32_t(dtype) }
}

// WithTF32 lets the products of f32 weights on a GPU use TF32 (faster, about
// 1e-3 relative); the CPU ignores it.
func WithTF32() Option {
	return func(o *C.nt5_model_options, _ *[]unsafe.Pointer) { o.allow_tf32 = 1 }
}

// WithRefuseNonFiniteWeights makes Open fail when a weight is NaN or infinite
// (by default they are only counted).
func WithRefuseNonFiniteWeights() Option {
	return func(o *C.nt5_model_options, _ *[]unsafe.Pointer) { o.refuse_non_finite_weights = 1 }
}

// Open opens a Hugging Face layout directory or an nt5 file.
func Open(path string, opts ...Option) (*Model, error) {
	var o C.nt5_model_options
	var keep []unsafe.Pointer
	defer func() {
		for _, p := range keep {
			C.free(p)
		}
	}()
	if err := call(func(e *C.char, n C.size_t) C.nt5_status {
		return C.nt5go_model_options_init(&o, C.uint32_t(unsafe.Sizeof(o)), e, n)
	}); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(&o, &keep)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var out *C.nt5_model
	if err := call(func(e *C.char, n C.size_t) C.nt5_status { return C.nt5go_model_open(cpath, &o, &out, e, n) }); err != nil {
		return nil, err
	}
	m := &Model{ptr: out}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close frees the model; using it afterwards is an error.
func (m *Model) Close() {
	if m.ptr != nil {
		C.nt5_model_free(m.ptr)
		m.ptr = nil
	}
	runtime.SetFinalizer(m, nil)
}

func (m *Model) handle() (*C.nt5_model, error) {
	if m == nil || m.ptr == nil {
		return nil, &Error{Status: C.NT5_ERR_INVALID_ARG, Message: "the model is closed"}
	}
	return m.ptr, nil
}

// cBool is a C flag: 1 for true.
func cBool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// cStrings copies texts to C; free releases them.
func cStrings(texts []string) (arr **C.char, free func()) {
	n := len(texts)
	if n == 0 {
		n = 1
	}
	ptrs := (*[1 << 28]*C.char)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:n:n]
	for i, t := range texts {
		ptrs[i] = C.CString(t)
	}
	return &ptrs[0], func() {
		for i := range texts {
			C.free(unsafe.Pointer(ptrs[i]))
		}
		C.free(unsafe.Pointer(&ptrs[0]))
	}
}

// EncodeOptions are the encoder's settings; the zero value is the library's defaults.
type EncodeOptions struct {
	PadToMaxLength bool
	MaxLength      int // tokens including </s>; 0: the model's default (512)
	NoTruncation   bool
	NoMask         bool // attend to padding like diffusers' Flux/SD3 pipelines
	ZeroPadding    bool
	Threads        int // the most of the model's CPU threads this call works on; 0: all
}

// Embeddings are hidden states [Shape[0], Shape[1], Shape[2]], row-major.
type Embeddings struct {
	Data    []float32
	Shape   [3]int
	Lengths []int
}

// Encode returns the final encoder hidden states of texts.
func (m *Model) Encode(texts []string, opts EncodeOptions) (*Embeddings, error) {
	mp, err := m.handle()
	if err != nil {
		return nil, err
	}
	var o C.nt5_encode_options
	if err := call(func(e *C.char, n C.size_t) C.nt5_status {
		return C.nt5go_encode_options_init(&o, C.uint32_t(unsafe.Sizeof(o)), e, n)
	}); err != nil {
		return nil, err
	}
	if opts.PadToMaxLength {
		o.padding = C.NT5_PADDING_MAX_LENGTH
	}
	o.max_length = C.int32_t(opts.MaxLength)
	o.truncation = cBool(!opts.NoTruncation)
	if opts.NoMask {
		o.attention = C.NT5_ATTEND_ALL
	}
	o.zero_padding = cBool(opts.ZeroPadding)
	o.num_threads = C.int32_t(opts.Threads)
	arr, free := cStrings(texts)
	defer free()
	var out *C.nt5_embeddings
	err = call(func(e *C.char, n C.size_t) C.nt5_status {
		return C.nt5go_encode_texts(mp, arr, C.size_t(len(texts)), &o, &out, e, n)
	})
	runtime.KeepAlive(m)
	if err != nil {
		return nil, err
	}
	defer C.nt5_embeddings_free(out)
	var b, s, d C.size_t
	C.nt5_embeddings_shape(out, &b, &s, &d)
	count := int(b * s * d)
	emb := &Embeddings{Shape: [3]int{int(b), int(s), int(d)}, Data: make([]float32, count), Lengths: make([]int, int(b))}
	copy(emb.Data, unsafe.Slice((*float32)(C.nt5_embeddings_data(out)), count))
	for i, l := range unsafe.Slice((*C.size_t)(C.nt5_embeddings_lengths(out)), int(b)) {
		emb.Lengths[i] = int(l)
	}
	return emb, nil
}

// GenerateOptions are the decoding settings; use DefaultGenerateOptions.
type GenerateOptions struct {
	MaxNewTokens, MinNewTokens, NumBeams, NumReturnSequences int
	LengthPenalty                                            float32
	EarlyStopping, Sample                                    bool
	Temperature, TopP, RepetitionPenalty                     float32
	TopK, NoRepeatNgramSize                                  int
	Seed                                                     uint64
	MaxInputLength                                           int // 0: the model's default (512)
	NoTruncation                                             bool
	Threads                                                  int // as EncodeOptions.Threads
}

// DefaultGenerateOptions is greedy decoding of up to 64 tokens.
func DefaultGenerateOptions() GenerateOptions {
	return GenerateOptions{MaxNewTokens: 64, NumBeams: 1, NumReturnSequences: 1, LengthPenalty: 1,
		Temperature: 1, TopP: 1, RepetitionPenalty: 1}
}

// Token is one streamed token.
type Token struct {
	SequenceIndex, Step int
	ID                  int32
	Text                string // the text this token added ("" for beam search)
}

// Generation is one generated sequence.
type Generation struct {
	IDs   []int32
	Text  string
	Score float32
}

// Generate decodes each text. onToken (may be nil) sees every token and
// returns false to cancel; the call then returns an *Error with status
// ErrCancelled.
func (m *Model) Generate(texts []string, opts GenerateOptions, onToken func(Token) bool) ([]Generation, error) {
	mp, err := m.handle()
	if err != nil {
		return nil, err
	}
	var o C.nt5_generate_options
	if err := call(func(e *C.char, n C.size_t) C.nt5_status {
		return C.nt5go_generate_options_init(&o, C.uint32_t(unsafe.Sizeof(o)), e, n)
	}); err != nil {
		return nil, err
	}
	o.max_new_tokens = C.int32_t(opts.MaxNewTokens)
	o.min_new_tokens = C.int32_t(opts.MinNewTokens)
	o.num_beams = C.int32_t(opts.NumBeams)
	o.num_return_sequences = C.int32_t(opts.NumReturnSequences)
	o.length_penalty = C.float(opts.LengthPenalty)
	o.early_stopping = cBool(opts.EarlyStopping)
	o.do_sample = cBool(opts.Sample)
	o.temperature = C.float(opts.Temperature)
	o.top_k = C.int32_t(opts.TopK)
	o.top_p = C.float(opts.TopP)
	o.seed = C.uint64_t(opts.Seed)
	o.repetition_penalty = C.float(opts.RepetitionPenalty)
	o.no_repeat_ngram_size = C.int32_t(opts.NoRepeatNgramSize)
	o.max_input_length = C.int32_t(opts.MaxInputLength)
	o.truncation = cBool(!opts.NoTruncation)
	o.num_threads = C.int32_t(opts.Threads)
	if onToken != nil {
		h := cgo.NewHandle(&streamState{fn: onToken})
		defer h.Delete()
		C.nt5go_set_callback(&o, C.uintptr_t(h))
	}
	arr, free := cStrings(texts)
	defer free()
	var out *C.nt5_generation
	err = call(func(e *C.char, n C.size_t) C.nt5_status {
		return C.nt5go_generate_texts(mp, arr, C.size_t(len(texts)), &o, &out, e, n)
	})
	runtime.KeepAlive(m)
	if err != nil {
		return nil, err
	}
	defer C.nt5_generation_free(out)
	count := int(C.nt5_generation_count(out))
	result := make([]Generation, count)
	for i := range result {
		var ids *C.int32_t
		var n C.size_t
		var text *C.char
		var score C.float
		C.nt5_generation_get(out, C.size_t(i), &ids, &n, &text, &score)
		result[i].IDs = make([]int32, int(n))
		for k, id := range unsafe.Slice((*int32)(unsafe.Pointer(ids)), int(n)) {
			result[i].IDs[k] = id
		}
		result[i].Text = C.GoString(text)
		result[i].Score = float32(score)
	}
	return result, nil
}

// ConvertOptions are nt5_convert's options; start from DefaultConvertOptions.
type ConvertOptions struct {
	Format           int     // FormatNt5 (default) or FormatHf
	DType            int     // DtypeAuto (default), DtypeF32, DtypeBf16 or DtypeF16 (nt5 files)
	EncoderOnly      bool    // only the encoder's weights
	FoldNormScales   bool    // multiply the RMSNorm scales into the matrices they feed
	F16Headroom      float32 // f16: factor kept below 65504; 0 = 8
	CalibrationTexts []string
	Threads          int // CPU threads for the conversion; 0 = all cores
}

// DefaultConvertOptions are the library's defaults.
func DefaultConvertOptions() ConvertOptions {
	return ConvertOptions{Format: FormatNt5, DType: DtypeAuto}
}

// Convert writes src (a directory, nt5 file or Hub id) as dst without
// opening a model for the caller; dst "" keeps an nt5 file in the Hub cache
// (src must then be a Hub id). It returns the written path.
func Convert(src, dst string, opts ConvertOptions) (string, error) {
	var o C.nt5_convert_options
	var source C.nt5_model_options
	if err := call(func(e *C.char, n C.size_t) C.nt5_status {
		if st := C.nt5go_model_options_init(&source, C.uint32_t(unsafe.Sizeof(source)), e, n); st != C.NT5_OK {
			return st
		}
		return C.nt5go_convert_options_init(&o, C.uint32_t(unsafe.Sizeof(o)), e, n)
	}); err != nil {
		return "", err
	}
	source.num_threads = C.int32_t(opts.Threads)
	o.format = C.int32_t(opts.Format)
	o.dtype = C.int32_t(opts.DType)
	o.encoder_only = cBool(opts.EncoderOnly)
	o.fold_norm_scales = cBool(opts.FoldNormScales)
	o.f16_headroom = C.float(opts.F16Headroom)
	texts, freeTexts := cStrings(opts.CalibrationTexts)
	defer freeTexts()
	if len(opts.CalibrationTexts) > 0 {
		o.calibration_texts = texts
		o.num_calibration_texts = C.size_t(len(opts.CalibrationTexts))
	}
	// C memory: cgo forbids Go pointers to Go pointers
	sourceC := (*C.nt5_model_options)(C.malloc(C.size_t(unsafe.Sizeof(source))))
	defer C.free(unsafe.Pointer(sourceC))
	*sourceC = source
	o.source = sourceC
	csrc := C.CString(src)
	defer C.free(unsafe.Pointer(csrc))
	var cdst *C.char
	if dst != "" {
		cdst = C.CString(dst)
		defer C.free(unsafe.Pointer(cdst))
	}
	const capacity = 4096
	path := (*C.char)(C.malloc(capacity))
	defer C.free(unsafe.Pointer(path))
	var length C.size_t
	if err := call(func(e *C.char, n C.size_t) C.nt5_status {
		return C.nt5go_convert(csrc, cdst, &o, path, capacity, &length, e, n)
	}); err != nil {
		return "", err
	}
	return C.GoString(path), nil
}
