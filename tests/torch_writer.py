"""Writes PyTorch checkpoints as torch.save does (zip format, pickle
protocol 2, one stored zip entry per storage), without torch: the pickle
names torch's rebuild function and storage classes through stand-in modules
registered only while pickling. Used by the tests to make .bin checkpoints
(sharded ones too) from safetensors fixtures."""
import collections
import json
import pickle
import struct
import sys
import types
import zipfile

_DTYPES = {"F32": ("FloatStorage", 4), "F16": ("HalfStorage", 2), "BF16": ("BFloat16Storage", 2)}


def read_safetensors(path):
    """name -> (dtype, shape, raw bytes), in the file's order."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return collections.OrderedDict(
        (name, (e["dtype"], e["shape"], data[e["data_offsets"][0]:e["data_offsets"][1]])) for name, e in header.items())


class _Storage:
    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class _Tensor:
    def __init__(self, storage, shape, rebuild, offset=0):
        self.storage, self.shape, self.rebuild, self.offset = storage, shape, rebuild, offset

    def __reduce__(self):
        stride, s = [], 1
        for d in reversed(self.shape):
            stride.insert(0, s)
            s *= d
        return (self.rebuild, (self.storage, self.offset, tuple(self.shape), tuple(stride), False,
                               collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def _stand_in_torch():
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("only for pickling")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for cls_name, _ in _DTYPES.values():
        setattr(torch, cls_name, type(cls_name, (), {"__module__": "torch"}))
    return torch, utils


def write_torch_bin(path, tensors, archive="pytorch_model", claims=None):
    """tensors: name -> (dtype, shape, raw bytes) as read_safetensors gives.
    claims: name -> {"numel": N, "offset": K}, what the pickle says of that
    tensor's storage instead of the truth (hostile files for the tests)."""
    saved = {m: sys.modules.get(m) for m in ("torch", "torch._utils")}
    torch, utils = _stand_in_torch()
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        state, blobs = {}, []
        for name, (dtype, shape, raw) in tensors.items():
            cls_name, size = _DTYPES[dtype]
            claim = (claims or {}).get(name, {})
            storage = _Storage(getattr(torch, cls_name), str(len(blobs)), claim.get("numel", len(raw) // size))
            blobs.append(raw)
            state[name] = _Tensor(storage, shape, utils._rebuild_tensor_v2, claim.get("offset", 0))
        import io
        buf = io.BytesIO()
        _Pickler(buf, protocol=2).dump(state)
    finally:
        for m, v in saved.items():
            if v is None:
                sys.modules.pop(m, None)
            else:
                sys.modules[m] = v
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(archive + "/data.pkl", buf.getvalue())
        z.writestr(archive + "/byteorder", "little")
        for i, raw in enumerate(blobs):
            z.writestr("%s/data/%d" % (archive, i), raw)
        z.writestr(archive + "/version", "3\n")


def write_sharded(directory, tensors, shard_of):
    """pytorch_model-0000K-of-0000N.bin files and their index, the shard of
    each tensor given by shard_of(name) (1-based)."""
    count = max(shard_of(n) for n in tensors)
    weight_map, total = {}, 0
    for k in range(1, count + 1):
        file = "pytorch_model-%05d-of-%05d.bin" % (k, count)
        part = collections.OrderedDict((n, t) for n, t in tensors.items() if shard_of(n) == k)
        write_torch_bin("%s/%s" % (directory, file), part, archive=file[:-4])
        for n, t in part.items():
            weight_map[n] = file
            total += len(t[2])
    with open(directory + "/pytorch_model.bin.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
