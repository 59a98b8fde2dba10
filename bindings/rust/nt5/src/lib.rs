//! Safe Rust API over libnt5: T5-family encoding (hidden states for image
//! pipelines) and generation (greedy, sampling, beam search, streamed).
//!
//! A [`Model`] is immutable after it is opened and may be shared between
//! threads (`Send + Sync`, as `nt5.h` promises); it frees itself on drop.
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_void};
use std::ptr::{self, NonNull};

use nt5_sys as sys;

/// A failed call: the library's status code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: i32,
    pub message: String,
}

impl Error {
    /// The status's name, e.g. "NT5_ERR_NOT_FOUND".
    pub fn status_name(&self) -> &'static str {
        unsafe { CStr::from_ptr(sys::nt5_status_name(self.status)) }.to_str().unwrap_or("NT5_ERR_UNKNOWN")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.status_name())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Turns a status into a Result, reading this thread's message right away.
fn check(status: sys::nt5_status) -> Result<()> {
    if status == sys::NT5_OK {
        return Ok(());
    }
    let message = unsafe { CStr::from_ptr(sys::nt5_last_error()) }.to_string_lossy().into_owned();
    Err(Error { status, message })
}

fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error { status: sys::NT5_ERR_INVALID_ARG, message: "string contains a NUL byte".into() })
}

/// Where and how a model runs.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// "auto" (None), "cpu", "cuda" or "cuda:N".
    pub device: Option<String>,
    /// CPU threads per call; 0 = all cores.
    pub num_threads: i32,
    /// Load only the encoder.
    pub encoder_only: bool,
    /// `sys::NT5_DTYPE_AUTO` (None), `NT5_DTYPE_F32`, `NT5_DTYPE_BF16` or (CPU) ggml's blocks:
    /// `NT5_DTYPE_Q8_0`, `NT5_DTYPE_Q6_K`, `NT5_DTYPE_Q5_K`, `NT5_DTYPE_Q4_K`.
    pub weight_dtype: Option<i32>,
    /// f32 weights on a GPU: TF32 products (faster, about 1e-3 relative).
    pub allow_tf32: bool,
    /// Fail to open when a weight is NaN or infinite (by default they are counted:
    /// `info().non_finite_weights`).
    pub refuse_non_finite_weights: bool,
    /// A tokenizer instead of the model's own: a directory with spiece.model, or a spiece.model.
    pub tokenizer: Option<String>,
    /// A config.json: a directory's instead of its own; over what nt5 infers for a single file.
    pub config: Option<String>,
}

/// Encoder options; `Default` is the library's defaults.
#[derive(Debug, Clone, Default)]
pub struct EncodeOptions {
    /// Pad every input to `max_length` instead of to the longest.
    pub pad_to_max_length: bool,
    /// Tokens per input including `</s>`; 0 = the model's default (512).
    pub max_length: i32,
    /// Fail on inputs longer than `max_length` instead of cutting them.
    pub no_truncation: bool,
    /// Attend to padding like diffusers' Flux and SD3 pipelines (no mask).
    pub no_mask: bool,
    /// Set the hidden states of padded positions to zero.
    pub zero_padding: bool,
    /// The most of the model's CPU threads this call works on; 0 = all.
    pub threads: i32,
}

/// Encoder output: hidden states `[batch, seq_len, d_model]`, row-major f32.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub data: Vec<f32>,
    pub shape: [usize; 3],
    /// Real tokens in each row.
    pub lengths: Vec<usize>,
}

/// Generation options; `Default` is greedy decoding of up to 64 tokens.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: i32,
    pub min_new_tokens: i32,
    pub num_beams: i32,
    pub num_return_sequences: i32,
    pub length_penalty: f32,
    pub early_stopping: bool,
    pub sample: bool,
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub seed: u64,
    pub repetition_penalty: f32,
    pub no_repeat_ngram_size: i32,
    /// Input tokens kept; 0 = the model's default (512).
    pub max_input_length: i32,
    /// Fail on longer inputs instead of cutting them.
    pub no_truncation: bool,
    /// The most of the model's CPU threads this call works on; 0 = all.
    pub threads: i32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 64,
            min_new_tokens: 0,
            num_beams: 1,
            num_return_sequences: 1,
            length_penalty: 1.0,
            early_stopping: false,
            sample: false,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
            repetition_penalty: 1.0,
            no_repeat_ngram_size: 0,
            max_input_length: 0,
            no_truncation: false,
            threads: 0,
        }
    }
}

/// A streamed token: which input, which step, the id and the text it added.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub sequence_index: usize,
    pub step: i32,
    pub id: i32,
    pub text: &'a str,
}

/// One generated sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub ids: Vec<i32>,
    pub text: String,
    pub score: f32,
}

/// An opened model.
pub struct Model {
    ptr: NonNull<sys::nt5_model>,
}

// nt5.h: "An nt5_model is immutable after nt5_model_open() returns and may be
// used by any number of threads at once".
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::nt5_model_free(self.ptr.as_ptr()) }
    }
}

/// Frees a library handle when dropped.
struct Handle<T>(*mut T, unsafe extern "C" fn(*mut T));

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        unsafe { (self.1)(self.0) }
    }
}

unsafe extern "C" fn on_token_trampoline(event: *const sys::nt5_token_event, user_data: *mut c_void) -> i32 {
    let callback = &mut *(user_data as *mut &mut dyn FnMut(&Token) -> bool);
    let ev = &*event;
    let text = if ev.text.is_null() { "" } else { CStr::from_ptr(ev.text).to_str().unwrap_or("") };
    let token = Token { sequence_index: ev.sequence_index, step: ev.step, id: ev.token_id, text };
    if callback(&token) {
        0
    } else {
        1
    }
}

impl Model {
    /// Opens a Hugging Face layout directory or an nt5 file with default options.
    pub fn open(path: &str) -> Result<Model> {
        Model::open_with(path, &ModelOptions::default())
    }

    pub fn open_with(path: &str, options: &ModelOptions) -> Result<Model> {
        let path = c_string(path)?;
        let device = options.device.as_deref().map(c_string).transpose()?;
        let tokenizer = options.tokenizer.as_deref().map(c_string).transpose()?;
        let config = options.config.as_deref().map(c_string).transpose()?;
        let mut o: sys::nt5_model_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::nt5_model_options_init(&mut o, std::mem::size_of_val(&o) as u32) })?;
        o.device = device.as_ref().map_or(ptr::null(), |d| d.as_ptr());
        o.num_threads = options.num_threads;
        o.encoder_only = options.encoder_only as i32;
        o.weight_dtype = options.weight_dtype.unwrap_or(sys::NT5_DTYPE_AUTO);
        o.allow_tf32 = options.allow_tf32 as i32;
        o.refuse_non_finite_weights = options.refuse_non_finite_weights as i32;
        o.tokenizer = tokenizer.as_ref().map_or(ptr::null(), |t| t.as_ptr());
        o.config = config.as_ref().map_or(ptr::null(), |c| c.as_ptr());
        let mut out = ptr::null_mut();
        check(unsafe { sys::nt5_model_open(path.as_ptr(), &o, &mut out) })?;
        Ok(Model { ptr: NonNull::new(out).expect("nt5_model_open returned NT5_OK and no model") })
    }

    /// The model's configuration and placement.
    pub fn info(&self) -> Result<sys::nt5_model_info> {
        let mut info: sys::nt5_model_info = unsafe { std::mem::zeroed() };
        info.struct_size = std::mem::size_of_val(&info) as u32;
        check(unsafe { sys::nt5_model_get_info(self.ptr.as_ptr(), &mut info) })?;
        Ok(info)
    }

    /// Token ids of `text` as T5's tokenizer makes them, `</s>` appended.
    pub fn tokenize(&self, text: &str) -> Result<Vec<i32>> {
        let text = c_string(text)?;
        let mut n = 0usize;
        let st = unsafe { sys::nt5_tokenize(self.ptr.as_ptr(), text.as_ptr(), 0, ptr::null_mut(), 0, &mut n) };
        if st != sys::NT5_ERR_BUFFER_TOO_SMALL {
            check(st)?;
        }
        let mut ids = vec![0i32; n];
        check(unsafe { sys::nt5_tokenize(self.ptr.as_ptr(), text.as_ptr(), 0, ids.as_mut_ptr(), n, &mut n) })?;
        Ok(ids)
    }

    /// Text of token ids, special tokens dropped when `skip_special`.
    pub fn detokenize(&self, ids: &[i32], skip_special: bool) -> Result<String> {
        let flags = if skip_special { sys::NT5_DETOKENIZE_SKIP_SPECIAL } else { 0 };
        let mut len = 0usize;
        let st = unsafe { sys::nt5_detokenize(self.ptr.as_ptr(), ids.as_ptr(), ids.len(), flags, ptr::null_mut(), 0, &mut len) };
        if st != sys::NT5_ERR_BUFFER_TOO_SMALL {
            check(st)?;
        }
        let mut buf = vec![0u8; len + 1];
        check(unsafe {
            sys::nt5_detokenize(self.ptr.as_ptr(), ids.as_ptr(), ids.len(), flags, buf.as_mut_ptr() as *mut c_char, len + 1, &mut len)
        })?;
        buf.truncate(len);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Final encoder hidden states of `texts`.
    pub fn encode(&self, texts: &[&str], options: &EncodeOptions) -> Result<Embeddings> {
        let (shape, lengths, data) = self.run_encode(texts, options, None)?;
        Ok(Embeddings { data: data.unwrap_or_default(), shape, lengths })
    }

    /// Like [`Model::encode`], but writes the hidden states `[batch, seq_len, d_model]` straight
    /// into `out` (no copy); returns the shape and the row lengths. `out` too short:
    /// `NT5_ERR_BUFFER_TOO_SMALL` (with `pad_to_max_length` it needs batch * max_length * d_model).
    pub fn encode_into(&self, texts: &[&str], options: &EncodeOptions, out: &mut [f32]) -> Result<([usize; 3], Vec<usize>)> {
        let (shape, lengths, _) = self.run_encode(texts, options, Some(out))?;
        Ok((shape, lengths))
    }

    /// Encodes into `into` when given, else into memory the embeddings own (copied out).
    fn run_encode(
        &self,
        texts: &[&str],
        options: &EncodeOptions,
        into: Option<&mut [f32]>,
    ) -> Result<([usize; 3], Vec<usize>, Option<Vec<f32>>)> {
        let owned: Vec<CString> = texts.iter().map(|t| c_string(t)).collect::<Result<_>>()?;
        let ptrs: Vec<*const c_char> = owned.iter().map(|t| t.as_ptr()).collect();
        let mut o: sys::nt5_encode_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::nt5_encode_options_init(&mut o, std::mem::size_of_val(&o) as u32) })?;
        if options.pad_to_max_length {
            o.padding = sys::NT5_PADDING_MAX_LENGTH;
        }
        o.max_length = options.max_length;
        o.truncation = !options.no_truncation as i32;
        o.attention = if options.no_mask { sys::NT5_ATTEND_ALL } else { sys::NT5_ATTEND_MASKED };
        o.zero_padding = options.zero_padding as i32;
        o.num_threads = options.threads;
        let copy_out = into.is_none();
        if let Some(buf) = into {
            o.output_buffer = buf.as_mut_ptr() as *mut c_void;
            o.output_capacity = std::mem::size_of_val(buf);
        }
        let mut out = ptr::null_mut();
        check(unsafe { sys::nt5_encode_texts(self.ptr.as_ptr(), ptrs.as_ptr(), ptrs.len(), &o, &mut out) })?;
        let emb = Handle(out, sys::nt5_embeddings_free);
        let mut shape = [0usize; 3];
        check(unsafe { sys::nt5_embeddings_shape(emb.0, &mut shape[0], &mut shape[1], &mut shape[2]) })?;
        let count = shape[0] * shape[1] * shape[2];
        let lengths = unsafe { std::slice::from_raw_parts(sys::nt5_embeddings_lengths(emb.0), shape[0]) }.to_vec();
        let data = copy_out
            .then(|| unsafe { std::slice::from_raw_parts(sys::nt5_embeddings_data(emb.0) as *const f32, count) }.to_vec());
        Ok((shape, lengths, data))
    }

    /// Generates for each text. `on_token` sees every streamed token and
    /// returns false to cancel (the call then fails with NT5_ERR_CANCELLED).
    pub fn generate(
        &self,
        texts: &[&str],
        options: &GenerateOptions,
        on_token: Option<&mut dyn FnMut(&Token) -> bool>,
    ) -> Result<Vec<Generation>> {
        let owned: Vec<CString> = texts.iter().map(|t| c_string(t)).collect::<Result<_>>()?;
        let ptrs: Vec<*const c_char> = owned.iter().map(|t| t.as_ptr()).collect();
        let mut o: sys::nt5_generate_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::nt5_generate_options_init(&mut o, std::mem::size_of_val(&o) as u32) })?;
        o.max_new_tokens = options.max_new_tokens;
        o.min_new_tokens = options.min_new_tokens;
        o.num_beams = options.num_beams;
        o.num_return_sequences = options.num_return_sequences;
        o.length_penalty = options.length_penalty;
        o.early_stopping = options.early_stopping as i32;
        o.do_sample = options.sample as i32;
        o.temperature = options.temperature;
        o.top_k = options.top_k;
        o.top_p = options.top_p;
        o.seed = options.seed;
        o.repetition_penalty = options.repetition_penalty;
        o.no_repeat_ngram_size = options.no_repeat_ngram_size;
        o.max_input_length = options.max_input_length;
        o.truncation = !options.no_truncation as i32;
        o.num_threads = options.threads;
        let mut callback = on_token;
        let mut callback_ref: &mut dyn FnMut(&Token) -> bool;
        if let Some(cb) = callback.take() {
            callback_ref = cb;
            o.on_token = Some(on_token_trampoline);
            o.user_data = &mut callback_ref as *mut &mut dyn FnMut(&Token) -> bool as *mut c_void;
        }
        let mut out = ptr::null_mut();
        check(unsafe { sys::nt5_generate_texts(self.ptr.as_ptr(), ptrs.as_ptr(), ptrs.len(), &o, &mut out) })?;
        let gen = Handle(out, sys::nt5_generation_free);
        let count = unsafe { sys::nt5_generation_count(gen.0) };
        (0..count)
            .map(|i| {
                let (mut ids, mut n, mut text, mut score) = (ptr::null(), 0usize, ptr::null(), 0f32);
                check(unsafe { sys::nt5_generation_get(gen.0, i, &mut ids, &mut n, &mut text, &mut score) })?;
                Ok(Generation {
                    ids: unsafe { std::slice::from_raw_parts(ids, n) }.to_vec(),
                    text: unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned(),
                    score,
                })
            })
            .collect()
    }
}

/// What [`convert`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One nt5 file.
    #[default]
    Nt5,
    /// A new Hugging Face layout directory (model.safetensors, config, tokenizer).
    HuggingFace,
}

/// Conversion options; `Default` is the library's defaults.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    pub format: Format,
    /// None: auto (bf16 checkpoints stay bf16, others f32); else `sys::NT5_DTYPE_F32`,
    /// `NT5_DTYPE_BF16` or `NT5_DTYPE_F16` (calibrated power-of-two scales, nt5 files only).
    pub dtype: Option<i32>,
    pub encoder_only: bool,
    /// Multiply the RMSNorm scales into the matrices they feed.
    pub fold_norm_scales: bool,
    /// f16: factor kept between calibrated maxima and 65504; 0 = 8.
    pub f16_headroom: f32,
    /// f16: calibration prompts; empty = the built-in set.
    pub calibration_texts: Vec<String>,
    /// CPU threads for the conversion; 0 = all cores.
    pub num_threads: i32,
}

/// Converts `src` (directory, nt5 file or Hub id) into `dst` without opening
/// a model for the caller; `dst` None keeps an nt5 file in the Hub cache
/// (`src` must then be a Hub id). Returns the written path.
pub fn convert(src: &str, dst: Option<&str>, options: &ConvertOptions) -> Result<String> {
    let src = c_string(src)?;
    let dst = dst.map(c_string).transpose()?;
    let texts: Vec<CString> = options.calibration_texts.iter().map(|t| c_string(t)).collect::<Result<_>>()?;
    let text_ptrs: Vec<*const c_char> = texts.iter().map(|t| t.as_ptr()).collect();
    let mut source: sys::nt5_model_options = unsafe { std::mem::zeroed() };
    check(unsafe { sys::nt5_model_options_init(&mut source, std::mem::size_of_val(&source) as u32) })?;
    source.num_threads = options.num_threads;
    let mut o: sys::nt5_convert_options = unsafe { std::mem::zeroed() };
    check(unsafe { sys::nt5_convert_options_init(&mut o, std::mem::size_of_val(&o) as u32) })?;
    o.format = match options.format {
        Format::Nt5 => sys::NT5_FORMAT_NT5,
        Format::HuggingFace => sys::NT5_FORMAT_HF,
    };
    o.dtype = options.dtype.unwrap_or(sys::NT5_DTYPE_AUTO);
    o.encoder_only = options.encoder_only as i32;
    o.fold_norm_scales = options.fold_norm_scales as i32;
    o.f16_headroom = options.f16_headroom;
    if !text_ptrs.is_empty() {
        o.calibration_texts = text_ptrs.as_ptr();
        o.num_calibration_texts = text_ptrs.len();
    }
    o.source = &source;
    let dst_ptr = dst.as_ref().map_or(ptr::null(), |d| d.as_ptr());
    let mut buf = vec![0u8; 4096];
    let mut len = 0usize;
    check(unsafe { sys::nt5_convert(src.as_ptr(), dst_ptr, &o, buf.as_mut_ptr() as *mut c_char, buf.len(), &mut len) })?;
    buf.truncate(len);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The release string of the loaded library.
pub fn version() -> String {
    unsafe { CStr::from_ptr(sys::nt5_version()) }.to_string_lossy().into_owned()
}
