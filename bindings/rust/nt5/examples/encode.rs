use nt5::{EncodeOptions, Model};

fn main() -> nt5::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "tests/data/t5-v1_1-tiny".into());
    let model = Model::open(&path)?;
    let emb = model.encode(&["A cat sitting on a mat"], &EncodeOptions::default())?;
    println!("shape {:?} lengths {:?}", emb.shape, emb.lengths);
    Ok(())
}
