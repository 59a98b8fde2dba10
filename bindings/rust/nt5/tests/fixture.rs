//! The safe crate against the real library and the tiny fixture model:
//! encoder hidden states within 1e-5 of Hugging Face's, greedy ids
//! identical, errors carrying the library's message, a cancelled stream,
//! and one model shared by threads.
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use nt5::{ConvertOptions, EncodeOptions, Format, GenerateOptions, Model, ModelOptions};

fn data_dir() -> PathBuf {
    match std::env::var("NT5_TEST_DATA") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/data"),
    }
}

fn model_dir() -> String {
    data_dir().join("t5-v1_1-tiny").to_string_lossy().into_owned()
}

/// The F32 tensor `name` of a safetensors file (a minimal reader for the test).
fn read_tensor(path: &PathBuf, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("reference.safetensors");
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    let entry = &header[header.find(&format!("\"{}\":", name)).expect("tensor in header")..];
    let offsets = &entry[entry.find("\"data_offsets\":[").unwrap() + 16..];
    let offsets: Vec<usize> = offsets[..offsets.find(']').unwrap()].split(',').map(|s| s.trim().parse().unwrap()).collect();
    let data = &bytes[8 + header_len + offsets[0]..8 + header_len + offsets[1]];
    data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// The first integer list after the keys `path` (in order) in a JSON text.
fn json_ints_after(text: &str, path: &[&str]) -> Vec<i32> {
    let mut at = 0;
    for key in path {
        at += text[at..].find(&format!("\"{}\":", key)).expect("key in reference.json") + key.len() + 3;
    }
    let list = &text[at..];
    let list = &list[list.find('[').unwrap() + 1..];
    list[..list.find(']').unwrap()].split(',').map(|s| s.trim().parse().unwrap()).collect()
}

#[test]
fn encode_matches_hugging_face() {
    /* the CPU ignores allow_tf32: still exact fp32; the fixture's weights are all finite */
    let options = ModelOptions {
        device: Some("cpu".into()),
        allow_tf32: true,
        refuse_non_finite_weights: true,
        ..Default::default()
    };
    let model = Model::open_with(&model_dir(), &options).expect("open");
    assert_eq!(model.info().expect("info").non_finite_weights, 0);
    let emb = model.encode(&["Hello world!"], &EncodeOptions::default()).expect("encode");
    let want = read_tensor(&data_dir().join("t5-v1_1-tiny/reference.safetensors"), "encoder.single.0");
    assert_eq!(emb.shape, [1, 8, 64]);
    assert_eq!(emb.lengths, vec![8]);
    let (mut num, mut den) = (0f64, 0f64);
    for (a, b) in emb.data.iter().zip(want.iter()) {
        num += ((a - b) as f64).powi(2);
        den += (*b as f64).powi(2);
    }
    let rel = (num / den).sqrt();
    assert!(rel <= 1e-5, "relative L2 error {}", rel);
}

#[test]
fn single_file_with_a_tokenizer_encodes_as_its_directory() {
    let file = data_dir().join("t5-v1_1-tiny/model.safetensors").to_string_lossy().into_owned();
    let options = ModelOptions { tokenizer: Some(model_dir()), ..Default::default() };
    let single = Model::open_with(&file, &options).expect("open the single file");
    let whole = Model::open(&model_dir()).unwrap();
    let a = single.encode(&["Hello world!"], &EncodeOptions::default()).unwrap();
    let b = whole.encode(&["Hello world!"], &EncodeOptions::default()).unwrap();
    assert_eq!(a.data, b.data);
}

#[test]
fn greedy_ids_match_hugging_face() {
    let model = Model::open(&model_dir()).unwrap();
    let reference = std::fs::read_to_string(data_dir().join("t5-v1_1-tiny/reference.json")).unwrap();
    let want = json_ints_after(&reference, &["greedy", "sequence"]); /* greedy[0] is "Hello world!" */
    let opts = GenerateOptions { max_new_tokens: 20, ..Default::default() };
    let out = model.generate(&["Hello world!"], &opts, None).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ids, want[1..].to_vec(), "ids without the decoder start token");
    assert_eq!(model.tokenize("Hello world!").unwrap(), vec![76, 8, 459, 24, 415, 29, 274, 1]);
    assert_eq!(model.detokenize(&out[0].ids, true).unwrap(), out[0].text);
}

#[test]
fn errors_carry_the_library_message() {
    let err = Model::open("/no/such/model").err().expect("an error");
    assert_eq!(err.status, nt5_sys::NT5_ERR_NOT_FOUND);
    assert_eq!(err.status_name(), "NT5_ERR_NOT_FOUND");
    assert!(err.message.contains("/no/such/model"), "{}", err.message);
    let model = Model::open(&model_dir()).unwrap();
    let bad = GenerateOptions { num_beams: 0, ..Default::default() };
    let err = model.generate(&["x"], &bad, None).err().unwrap();
    assert_eq!(err.status, nt5_sys::NT5_ERR_INVALID_ARG);
    assert!(err.message.contains("num_beams"));
}

#[test]
fn a_cancelled_stream_stops() {
    let model = Model::open(&model_dir()).unwrap();
    let mut seen = Vec::new();
    let mut on_token = |t: &nt5::Token| {
        seen.push(t.id);
        seen.len() < 3
    };
    let opts = GenerateOptions { max_new_tokens: 20, ..Default::default() };
    let err = model.generate(&["Hello world!"], &opts, Some(&mut on_token)).err().expect("cancelled");
    assert_eq!(err.status, nt5_sys::NT5_ERR_CANCELLED);
    assert_eq!(seen.len(), 3);
    // the model stays usable, and the stream saw the same first tokens
    let full = model.generate(&["Hello world!"], &opts, None).unwrap();
    assert_eq!(&full[0].ids[..3], &seen[..]);
}

/// Half the threads call on one of the model's threads (`threads: 1`), and
/// get what such a call gives alone.
#[test]
fn threads_share_one_model() {
    let model = Arc::new(Model::open(&model_dir()).unwrap());
    let text = ["translate English to German: The house is wonderful."];
    let options = [EncodeOptions::default(), EncodeOptions { threads: 1, ..Default::default() }];
    let wants: Vec<_> = options.iter().map(|o| model.encode(&text, o).unwrap()).collect();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let m = Arc::clone(&model);
            let o = options[i % 2].clone();
            thread::spawn(move || m.encode(&text, &o).unwrap())
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap().data, wants[i % 2].data);
    }
}

#[test]
fn convert_to_f16_and_hugging_face_layout() {
    let dir = std::env::temp_dir().join(format!("nt5-rust-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f16 = dir.join("tiny-f16.nt5").to_string_lossy().into_owned();
    let options = ConvertOptions {
        dtype: Some(nt5_sys::NT5_DTYPE_F16),
        calibration_texts: vec!["Hello world!".into(), "translate English to German: good morning".into()],
        ..Default::default()
    };
    assert_eq!(nt5::convert(&model_dir(), Some(&f16), &options).expect("convert"), f16);
    let want = Model::open(&model_dir()).unwrap().encode(&["Hello world!"], &EncodeOptions::default()).unwrap();
    let got = Model::open(&f16).unwrap().encode(&["Hello world!"], &EncodeOptions::default()).unwrap();
    let (mut num, mut den) = (0f64, 0f64);
    for (a, b) in got.data.iter().zip(want.data.iter()) {
        num += ((a - b) as f64).powi(2);
        den += (*b as f64).powi(2);
    }
    assert!((num / den).sqrt() < 2e-3, "f16 file: relative L2 {}", (num / den).sqrt());
    let hf = dir.join("tiny-hf").to_string_lossy().into_owned();
    let hf_options = ConvertOptions { format: Format::HuggingFace, ..Default::default() };
    nt5::convert(&model_dir(), Some(&hf), &hf_options).expect("convert to HF layout");
    assert!(dir.join("tiny-hf/model.safetensors").exists());
    let err = nt5::convert(&model_dir(), Some(&hf), &ConvertOptions { dtype: Some(nt5_sys::NT5_DTYPE_F16), ..hf_options })
        .expect_err("f16 in HF layout");
    assert_eq!(err.status_name(), "NT5_ERR_UNSUPPORTED");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn encode_into_a_caller_buffer() {
    let model = Model::open(&model_dir()).expect("open");
    let options = EncodeOptions { pad_to_max_length: true, max_length: 16, ..Default::default() };
    let want = model.encode(&["Hello world!", "a cat"], &options).expect("encode");
    let mut buf = vec![0f32; 2 * 16 * 64 + 3];
    let (shape, lengths) = model.encode_into(&["Hello world!", "a cat"], &options, &mut buf).expect("encode_into");
    assert_eq!(shape, [2, 16, 64]);
    assert_eq!(lengths, want.lengths);
    assert_eq!(&buf[..2 * 16 * 64], &want.data[..]);
    assert_eq!(&buf[2 * 16 * 64..], &[0f32; 3]);
    let mut short = vec![0f32; 100];
    let err = model.encode_into(&["Hello world!"], &options, &mut short).expect_err("too short");
    assert_eq!(err.status_name(), "NT5_ERR_BUFFER_TOO_SMALL");
}
