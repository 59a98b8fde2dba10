"""Loading libnt5, and what every wrapper needs around a foreign call: errors,
C strings, option structs, callbacks and outputs of a size known only after."""
import ctypes
import ctypes.util
import functools
import os
import subprocess
from typing import Any, Callable, Iterable, Optional, Union

from . import _lib

Text = Union[str, bytes]
Path = Union[str, bytes, "os.PathLike[str]"]

_STATUS_NAMES = {v: k for k, v in vars(_lib).items() if k == "NT5_OK" or k.startswith("NT5_ERR_")}


class Error(Exception):
    """A call nt5 refused: `status` is the library's code (an NT5_ERR_* constant of
    nt5._lib, e.g. -12 for NT5_ERR_NOT_FOUND), `message` its message for that failure."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status = status
        self.message = message

    @property
    def status_name(self) -> str:
        """The status's name, e.g. "NT5_ERR_NOT_FOUND"."""
        return _STATUS_NAMES.get(self.status, "NT5_ERR_UNKNOWN")

    def __str__(self) -> str:
        return "%s (%s)" % (self.message, self.status_name)


class LibraryError(OSError):
    """libnt5 could not be loaded, or is older than these bindings."""


def _candidates(tried: list) -> Iterable[str]:
    """Where libnt5 may be: NT5_LIB alone when it is set, else pkg-config's libdir, then the
    loader's search path. Says in `tried` why a place had nothing."""
    if os.environ.get("NT5_LIB"):
        yield os.environ["NT5_LIB"]
        return
    pkg_config = os.environ.get("PKG_CONFIG", "pkg-config")
    try:
        r = subprocess.run([pkg_config, "--variable=libdir", "nt5"], capture_output=True, text=True, timeout=30)
        libdir, sysroot = r.stdout.strip(), os.environ.get("PKG_CONFIG_SYSROOT_DIR", "")
        if r.returncode == 0 and libdir:
            # a staged install: pkgconf puts the sysroot before the variable, pkg-config 0.29 does not
            yield os.path.join(libdir if libdir.startswith(sysroot) else sysroot + libdir, "libnt5.so.1")
        else:
            tried.append("pkg-config nt5: %s" % (r.stderr.strip().splitlines() or ["no libdir"])[0])
    except (OSError, subprocess.SubprocessError) as e:
        tried.append("%s: %s" % (pkg_config, e))
    yield ctypes.util.find_library("nt5") or "libnt5.so.1"


@functools.lru_cache(maxsize=None)
def lib() -> ctypes.CDLL:
    """The loaded library with every prototype set (nt5._lib.bind); loaded on first use."""
    tried: list = []
    for path in _candidates(tried):
        try:
            handle = ctypes.CDLL(path)
        except OSError as e:
            tried.append(str(e))
            continue
        handle.nt5_abi_version.restype = ctypes.c_uint32
        if handle.nt5_abi_version() < _lib.NT5_ABI_VERSION:
            raise LibraryError("%s has ABI %d; these bindings need %d or later"
                               % (path, handle.nt5_abi_version(), _lib.NT5_ABI_VERSION))
        return _lib.bind(handle)
    raise LibraryError("libnt5 not found (%s): set NT5_LIB to the path of libnt5.so.1 (in a meson build "
                       "directory: libnt5.so), or install libnt5 where pkg-config or the loader finds it"
                       % "; ".join(tried))


def check(status: int) -> None:
    """Raises Error for a failed status, with this thread's message (nt5_last_error is
    thread-local: call right after the failed call, on its thread)."""
    if status != _lib.NT5_OK:
        raise Error(status, lib().nt5_last_error().decode("utf-8", "replace"))


def invalid(message: str) -> Error:
    return Error(_lib.NT5_ERR_INVALID_ARG, message)


def _no_nul(b: bytes, what: str) -> bytes:
    if b"\0" in b:
        raise invalid("%s contains a NUL byte" % what)
    return b


def c_text(text: Text) -> bytes:
    """A text as UTF-8 bytes; bytes go as they are, and so do lone surrogates of a str (which
    the library then refuses as invalid UTF-8, like bad bytes)."""
    return _no_nul(text if isinstance(text, bytes) else str(text).encode("utf-8", "surrogatepass"), "a text")


def c_string(path: Optional[Path]) -> Optional[bytes]:
    """A path, Hub reference or name as the file system encodes it; None stays NULL."""
    return None if path is None else _no_nul(os.fsencode(path), "a path")


def c_texts(texts: Union[Text, Iterable[Text]]) -> "tuple[ctypes.Array, int]":
    """An array of char pointers for a batch (a single text is a batch of one) and its size."""
    items = [c_text(t) for t in ([texts] if isinstance(texts, (str, bytes)) else texts)]
    return (ctypes.c_char_p * len(items))(*items), len(items)


def options(struct: type, init: Callable, **fields: Any) -> ctypes.Structure:
    """An option struct as its nt5_*_options_init fills it, then the fields given (None keeps
    the default)."""
    o = struct()
    check(init(ctypes.byref(o), ctypes.sizeof(o)))
    return set_fields(o, **fields)


def set_fields(o: ctypes.Structure, **fields: Any) -> ctypes.Structure:
    for name, value in fields.items():
        if value is not None:
            setattr(o, name, value)
    return o


def code(table: dict, name: Any, what: str) -> int:
    """The constant a name stands for in table; a constant passes as it is."""
    if isinstance(name, int) and name in table.values():
        return name
    try:
        return table[name]
    except (KeyError, TypeError):
        raise invalid("unknown %s %r (one of %s)" % (what, name, ", ".join(sorted(map(str, table))))) from None


class Callback:
    """A Python function as a C callback of type ctype (None: no callback, NULL). The function
    gets convert(*C arguments); a true return cancels the call (the callback returns 1), and
    so does an exception, which check() raises in place of NT5_ERR_CANCELLED."""

    def __init__(self, ctype: type, fn: Optional[Callable], convert: Callable):
        self.error: Optional[BaseException] = None
        self.c = None if fn is None else ctype(lambda *args: self._call(fn, convert, args))

    def _call(self, fn: Callable, convert: Callable, args: tuple) -> int:
        try:
            return 1 if fn(*convert(*args)) else 0
        except BaseException as e:  # KeyboardInterrupt too: cancel, then raise it after the call
            self.error = e
            return 1

    def check(self, status: int) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        check(status)


def sized(call: Callable, capacity: int, make: Callable, check_status: Callable = check) -> "tuple[Any, int]":
    """For the functions that write at most `capacity` items and answer
    NT5_ERR_BUFFER_TOO_SMALL with the length they need: runs call(buffer, capacity,
    byref(length)) with buffer = make(capacity), again larger if needed; returns both."""
    length = ctypes.c_size_t()
    while True:
        buf = make(capacity)
        status = call(buf, capacity, ctypes.byref(length))
        if status != _lib.NT5_ERR_BUFFER_TOO_SMALL:
            check_status(status)
            return buf, length.value
        capacity = length.value + 1  # strings: the NUL is not counted
