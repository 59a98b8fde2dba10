"""nt5.ray.Encoder called as Ray Data calls it, without Ray: its options, its columns."""
import numpy as np

import nt5.ray
from conftest import TINY


def test_encoder_columns_and_options(model):
    enc = nt5.ray.Encoder(TINY, text_column="caption", preset="sd3", dtype="bf16", threads=2)
    assert enc.encode_options == {"preset": "sd3", "dtype": "bf16"}
    assert enc.model.info.has_decoder == 0 and enc.model.info.num_threads == 2  # encoder_only by default
    batch = {"caption": np.array(["a cat", "a dog on a mat"], dtype=object), "id": np.array([7, 8])}
    out = enc(batch)
    want = model.encode(["a cat", "a dog on a mat"], preset="sd3", dtype="bf16")
    assert out["caption"] is batch["caption"] and out["id"] is batch["id"]
    assert out["hidden_states"].dtype == np.uint16 and out["hidden_states"].shape == (2, 256, 64)
    assert np.array_equal(out["hidden_states"], want.hidden_states.view(np.uint16))
    assert out["lengths"].dtype == np.int64 and out["lengths"].tolist() == want.lengths.tolist()
    assert np.array_equal(out["token_ids"], want.token_ids)
    f32 = nt5.ray.Encoder(TINY, max_length=4)({"text": np.array(["a long caption about things"])})
    assert f32["hidden_states"].dtype == np.float32 and f32["hidden_states"].shape[1] == 4
