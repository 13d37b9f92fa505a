"""Blocking producers on their own threads, consumed from the event loop through a bounded queue.

Why: the gateway's origin reads used to run on the event loop (httpx on asyncio TLS, 64 KiB at a
time, every read a trip through the loop) and moved 13-18 % of a direct download. Python's
blocking TLS sockets release the GIL for the whole read and hashing does too, so one thread per
response reads and hashes while the loop only writes to the client. The queue holds at most
``depth`` items (chunks of up to :data:`CHUNK`), so memory stays flat whatever the client's pace:
the producer blocks when it is full.

Ending: :meth:`ThreadPump.aclose` (the response finished, failed, or the client went away) sets
the stop flag and frees the queue; the producer notices at its next item, closes its generator
(its ``finally`` blocks close origin responses) and exits. :data:`LIVE` counts running producers
(the tests check that none is left behind).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
CHUNK = 1 << 20  # origin read size: large chunks mean few hops between threads and the loop
DEPTH = 8  # items buffered per response (at most DEPTH x CHUNK bytes)
_END, _ERROR, _ITEM = 0, 1, 2
_names = itertools.count(1)
LIVE: set[threading.Thread] = set()


class PumpStopped(Exception):
    """Raised inside a producer whose consumer has gone (internal: ends the thread quietly)."""


class ThreadPump(Generic[T]):
    """``async for item in ThreadPump(make)``: runs ``make()`` (a blocking iterator) on a thread.

    ``make`` is called on the producer thread, so opening connections happens there too.
    Exceptions from the producer are re-raised by the consumer, in order, after the items
    produced before them.
    """

    def __init__(self, make: Callable[[], Iterator[T]], *, depth: int = DEPTH, name: str = "origin") -> None:
        self._make = make
        self._loop = asyncio.get_running_loop()
        self._items: deque[tuple[int, Any]] = deque()
        self._space = threading.Semaphore(depth)
        self.stopped = threading.Event()
        self._waiter: asyncio.Future[None] | None = None
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._done = False
        self._thread = threading.Thread(target=self._run, name=f"doi2data-{name}-{next(_names)}", daemon=True)
        LIVE.add(self._thread)
        self._thread.start()

    # -- producer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = self._make()
            for item in iterator:
                self.wait_for_space()
                self._push(_ITEM, item)
            self._push(_END, None)
        except PumpStopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._push(_ERROR, exc)
        finally:
            close = getattr(iterator, "close", None)
            try:
                if close is not None:
                    close()
            finally:
                LIVE.discard(self._thread)
                self._call(self._set_finished)

    def wait_for_space(self) -> None:
        """Block until the queue has room (raise :class:`PumpStopped` once the consumer is gone)."""
        while not self._space.acquire(timeout=0.5):
            if self.stopped.is_set():
                raise PumpStopped
        if self.stopped.is_set():
            raise PumpStopped

    def _push(self, kind: int, value: Any) -> None:
        self._call(self._deliver, (kind, value))

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed (interpreter shutdown): nobody is listening
            self.stopped.set()

    # -- event loop --------------------------------------------------------------------------
    def _deliver(self, item: tuple[int, Any]) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _set_finished(self) -> None:
        if not self._finished.done():
            self._finished.set_result(None)

    def __aiter__(self) -> ThreadPump[T]:
        return self

    async def __anext__(self) -> T:
        if self._done:
            raise StopAsyncIteration
        while not self._items:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        kind, value = self._items.popleft()
        if kind == _ITEM:
            self._space.release()
            return value  # type: ignore[no-any-return]
        self._done = True
        if kind == _ERROR:
            raise value
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop the producer and wait (briefly) for its thread to end; never blocks the loop."""
        self.stopped.set()
        self._done = True
        self._items.clear()
        self._space.release()  # a producer blocked on a full queue wakes up and sees the flag
        try:
            await asyncio.wait_for(asyncio.shield(self._finished), 5.0)
        except TimeoutError:  # stuck in an origin read: it ends at the read timeout
            pass


__all__ = ["CHUNK", "DEPTH", "LIVE", "PumpStopped", "ThreadPump"]
