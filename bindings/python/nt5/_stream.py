"""Model.stream(): the C API streams through a callback on the calling thread; here the call
runs on a worker thread whose callback queues each token for the iterating thread (waiting
while it is AHEAD tokens ahead, so that a slow loop is not flooded and leaving it stops the
generation), and answers "cancel" once that thread asked for it."""
import queue
import threading
from typing import Any, Callable, Iterator, List, Optional

from . import _lib
from ._native import Error

_END = object()  # queued after the last token
AHEAD = 2  # tokens the worker may queue before the iteration takes them


class Stream:
    """Tokens (nt5.Token) of one generate() call as they come. Iterate it once; afterwards
    `result` holds generate()'s list of nt5.Generation (None when cancelled, and `cancelled`
    is then True). A failure of the call is raised by the iteration. Breaking out of the loop,
    cancel() (from any thread), close() or leaving a `with` block cancels: the generation stops
    at its next token, and the worker is joined before the loop ends. The generation runs at
    most AHEAD tokens ahead of the loop."""

    def __init__(self, generate: Callable[..., List[Any]], texts: Any, options: dict):
        self.result: Optional[List[Any]] = None
        self.cancelled = False
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=AHEAD)
        self._cancel = threading.Event()
        self._left = threading.Event()  # the iteration ended: nothing more is taken from the queue
        self._thread = threading.Thread(target=self._run, args=(generate, texts, options), daemon=True,
                                        name="nt5-stream")
        self._iterated = False

    def _run(self, generate: Callable[..., List[Any]], texts: Any, options: dict) -> None:
        try:
            self.result = generate(texts, on_token=self._on_token, **options)
        except Error as e:
            self.cancelled = e.status == _lib.NT5_ERR_CANCELLED and self._cancel.is_set()
            if not self.cancelled:
                self._put(e)
        except BaseException as e:  # raised by the iteration, on the thread that iterates
            self._put(e)
        self._put(_END)

    def _put(self, item: Any) -> None:
        """Queues item once there is room, unless the iteration has ended."""
        while not self._left.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                pass

    def _on_token(self, token: Any) -> bool:
        if not self._cancel.is_set():
            self._put(token)
        return self._cancel.is_set()

    def __iter__(self) -> Iterator[Any]:
        if self._iterated:
            raise RuntimeError("an nt5 Stream is iterated once")
        self._iterated = True
        self._thread.start()
        try:
            while (item := self._queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:  # also when the loop is left early: stop the worker, and wait for it
            self.close()

    def cancel(self) -> None:
        """Asks the generation to stop at its next token (from any thread)."""
        self._cancel.set()

    def close(self) -> None:
        """Cancels a generation still running and waits for its worker."""
        if self._thread.is_alive():
            self.cancel()
            self._left.set()
            self._thread.join()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
