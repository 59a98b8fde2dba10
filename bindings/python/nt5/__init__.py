"""T5-family models (T5 v1.0, v1.1 / flan-t5, mT5, UMT5) through libnt5: text to encoder
hidden states for image pipelines, and generation (greedy, sampling, beam search), streamed.

    import nt5
    with nt5.Model("google/flan-t5-base", threads=8) as model:
        emb = model.encode(["a cat in a hat"], preset="flux", dtype="bf16")
        emb.hidden_states  # [batch, 512, d_model], viewing the library's memory
        print(model.generate("translate English to German: How old are you?")[0].text)

libnt5 is found through NT5_LIB (the path of libnt5.so.1), else pkg-config's libdir for nt5,
else the loader's search path. nt5._lib is the raw ctypes layer, generated from abi/nt5.h.
"""
from ._lib import __version__
from ._model import Embeddings, Generation, Model, Token, convert, hub_download, version
from ._native import Error, LibraryError
from ._stream import Stream

__all__ = ["Embeddings", "Error", "Generation", "LibraryError", "Model", "Stream", "Token", "convert",
           "hub_download", "version"]
