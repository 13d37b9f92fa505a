"""Unit tests for the transfer engine's internals: the written-behind state store, body
coalescing, the cookie jar and per-thread clients, batch path checks, host parsing, writeback
and the single-stream drain.

No network: HTTP goes through httpx.MockTransport, files live in tmp_path.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import sqlite3
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from doi2data import http as d2http
from doi2data.errors import UnsafePath
from doi2data.http import (
    ThreadClients,
    coalesced,
    make_client,
    make_sync_client,
    send_sync,
)
from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.paths import inside_many
from doi2data.transfer import disk, fetch
from doi2data.transfer.common import FetchSettings, Retry, host_of
from doi2data.transfer.engine import Engine, TransferOptions
from doi2data.transfer.fetch import FileFetcher
from doi2data.transfer.hashing import MultiHasher
from doi2data.transfer.limits import HostLimiter
from doi2data.transfer.state import PartialInfo, Segment, StateStore

# Linux's sync_file_range(2) flags: the kernel ABI, not the module's names for them
SFR_WAIT_BEFORE, SFR_WRITE, SFR_WAIT_AFTER = 1, 2, 4
SFR_WAIT_ALL = SFR_WAIT_BEFORE | SFR_WRITE | SFR_WAIT_AFTER


def _in_thread_within(fn: Callable[[], Any], seconds: float = 10.0) -> None:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not return."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn} did not return within {seconds} s"
    if errors:
        raise errors[0]


# =============================================================================================
# 1. StateStore: in-memory records, written behind by one thread
# =============================================================================================

class _ProxyDB:
    """Stands in for the store's sqlite3 connection (whose methods cannot be monkeypatched):
    delegates everything, but ``executemany`` can be slowed down or made to fail."""

    def __init__(self, real: sqlite3.Connection, *, delay: float = 0.0, fail: Exception | None = None) -> None:
        self._real = real
        self.delay = delay
        self.fail = fail
        self.batches = 0

    def executemany(self, sql: str, rows: Any) -> Any:
        self.batches += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return self._real.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _final(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_state_records_survive_close_and_reopen(tmp_path: Path) -> None:
    data = b"verified bytes" * 100
    final = _final(tmp_path, "v.bin", data)
    md5 = hashlib.md5(data).hexdigest()
    info_old = PartialInfo("https://h.test/p", '"e0"', None, 9)
    info = PartialInfo("https://h.test/p", '"e1"', "Wed, 21 Oct 2015 07:28:00 GMT", 10_000)
    seg_info = PartialInfo("https://h.test/s", '"s"', None, 300)

    store = StateStore(tmp_path)
    store.mark_verified("v.bin", final, {"md5": md5})
    store.set_partial("p.bin", info_old)
    store.set_partial("p.bin", info)  # replaces
    store.set_partial("s.bin", seg_info)
    store.set_segments("s.bin", [Segment(0, 0, 99), Segment(1, 100, 199), Segment(2, 200, 299)])
    store.set_segments("s.bin", [Segment(0, 0, 149), Segment(1, 150, 299)])  # a new plan replaces the old
    store.segment_done("s.bin", 1, 40)
    store.segment_done("s.bin", 0, 100)
    store.segment_done("s.bin", 1, 77)  # the newest progress wins
    store.close()

    again = StateStore(tmp_path)
    try:
        assert again.partial("p.bin") == info
        assert again.partial("s.bin") == seg_info
        assert again.segments("s.bin") == [Segment(0, 0, 149, 100), Segment(1, 150, 299, 77)]
        assert again.partial_paths() == {"p.bin", "s.bin"}
        assert again.is_verified("v.bin", final, {"md5": md5}, len(data))
        assert not again.is_verified("v.bin", final, {"md5": "0" * 32}, len(data))
        assert not again.is_verified("v.bin", final, {"md5": md5}, len(data) + 1)
        assert not again.is_verified("other.bin", final, {"md5": md5}, len(data))
    finally:
        again.close()

    # and what is on disk is what the store read back (not something cached across instances)
    db = sqlite3.connect(tmp_path / ".doi2data" / "state.sqlite")
    try:
        rows = db.execute("SELECT path, idx, start, end, done FROM segments ORDER BY idx").fetchall()
        assert rows == [("s.bin", 0, 0, 149, 100), ("s.bin", 1, 150, 299, 77)]
    finally:
        db.close()


def test_set_segments_empty_forgets_the_plan_on_disk_too(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.set_segments("s.bin", [Segment(0, 0, 9), Segment(1, 10, 19)])
    store.set_segments("s.bin", [])
    assert store.segments("s.bin") == [] and store.partial_paths() == set()
    store.close()
    again = StateStore(tmp_path)
    try:
        assert again.segments("s.bin") == [] and again.partial_paths() == set()
    finally:
        again.close()


def _drop_by_empty_plan(store: StateStore, local: str, final: Path) -> None:
    store.set_segments(local, [])


def _drop_by_drop_partial(store: StateStore, local: str, final: Path) -> None:
    store.drop_partial(local)


def _drop_by_verify(store: StateStore, local: str, final: Path) -> None:
    store.mark_verified(local, final, {})


@pytest.mark.parametrize("drop", [_drop_by_empty_plan, _drop_by_drop_partial, _drop_by_verify])
def test_segment_done_on_a_dropped_plan_is_ignored(tmp_path: Path, drop: Callable[..., None]) -> None:
    final = _final(tmp_path, "s.bin", b"x" * 20)
    store = StateStore(tmp_path)
    store.set_segments("s.bin", [Segment(0, 0, 9), Segment(1, 10, 19)])
    drop(store, "s.bin", final)
    store.segment_done("s.bin", 0, 10)  # a late worker reporting on the old plan
    assert store.segments("s.bin") == []
    assert "s.bin" not in store.partial_paths()
    store.close()
    again = StateStore(tmp_path)
    try:
        assert again.segments("s.bin") == [] and "s.bin" not in again.partial_paths()
    finally:
        again.close()


def test_segment_done_for_an_unknown_piece_is_ignored(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.set_segments("s.bin", [Segment(0, 0, 9)])
    store.segment_done("s.bin", 5, 3)
    store.segment_done("nothing.bin", 0, 3)
    assert store.segments("s.bin") == [Segment(0, 0, 9, 0)]
    assert store.segments("nothing.bin") == []
    store.close()
    again = StateStore(tmp_path)
    try:
        assert again.segments("s.bin") == [Segment(0, 0, 9, 0)] and again.partial_paths() == {"s.bin"}
    finally:
        again.close()


def test_partial_paths_is_the_union_of_partials_and_segment_plans(tmp_path: Path) -> None:
    final = _final(tmp_path, "c.bin", b"c")
    store = StateStore(tmp_path)
    try:
        assert store.partial_paths() == set()
        store.set_partial("a.bin", PartialInfo("https://h.test/a", '"a"', None, 1))
        store.set_segments("b.bin", [Segment(0, 0, 9)])
        store.set_partial("c.bin", PartialInfo("https://h.test/c", '"c"', None, 1))
        store.set_segments("c.bin", [Segment(0, 0, 0)])
        assert store.partial_paths() == {"a.bin", "b.bin", "c.bin"}
        store.drop_partial("a.bin")
        assert store.partial_paths() == {"b.bin", "c.bin"}
        store.mark_verified("c.bin", final, {})
        assert store.partial_paths() == {"b.bin"}
        returned = store.partial_paths()
        returned.add("intruder")  # a copy, not the store's own set
        assert store.partial_paths() == {"b.bin"}
    finally:
        store.close()


def test_is_verified_sees_a_mark_verified_made_just_before(tmp_path: Path) -> None:
    data = b"payload" * 50
    final = _final(tmp_path, "v.bin", data)
    store = StateStore(tmp_path)
    slow = _ProxyDB(store._db, delay=0.3)  # the writer takes its time to commit
    store._db = slow  # type: ignore[assignment]
    try:
        store.mark_verified("v.bin", final, {"md5": hashlib.md5(data).hexdigest()})
        assert store.is_verified("v.bin", final, {"md5": hashlib.md5(data).hexdigest()}, len(data))
        assert slow.batches >= 1  # it really went through the slow writer
        assert store._pending == 0
    finally:
        store.close()


def test_is_verified_is_false_when_the_file_changed_after_marking(tmp_path: Path) -> None:
    final = _final(tmp_path, "v.bin", b"0123456789")
    store = StateStore(tmp_path)
    try:
        store.mark_verified("v.bin", final, {"md5": hashlib.md5(b"0123456789").hexdigest()})
        assert store.is_verified("v.bin", final, {}, None)
        st = final.stat()
        os.utime(final, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert not store.is_verified("v.bin", final, {}, None)
    finally:
        store.close()


def test_mark_verified_clears_partial_and_segments(tmp_path: Path) -> None:
    data = b"z" * 64
    final = _final(tmp_path, "f.bin", data)
    store = StateStore(tmp_path)
    store.set_partial("f.bin", PartialInfo("https://h.test/f", '"e"', None, 64))
    store.set_segments("f.bin", [Segment(0, 0, 31, 32), Segment(1, 32, 63, 5)])
    store.set_partial("other.bin", PartialInfo("https://h.test/o", '"o"', None, 64))
    store.mark_verified("f.bin", final, {"sha256": hashlib.sha256(data).hexdigest()})
    assert store.partial("f.bin") is None and store.segments("f.bin") == []
    assert store.partial_paths() == {"other.bin"}
    store.close()
    again = StateStore(tmp_path)
    try:
        assert again.partial("f.bin") is None and again.segments("f.bin") == []
        assert again.partial_paths() == {"other.bin"}
        assert again.is_verified("f.bin", final, {"sha256": hashlib.sha256(data).hexdigest()}, 64)
    finally:
        again.close()


def test_drop_partial_removes_record_and_part_file(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    part = store.part_path("dir/f.bin")
    part.write_bytes(b"half a file")
    keep = store.part_path("dir/g.bin")
    keep.write_bytes(b"other")
    store.set_partial("dir/f.bin", PartialInfo("https://h.test/f", '"e"', None, 100))
    store.set_segments("dir/f.bin", [Segment(0, 0, 99, 11)])
    store.drop_partial("dir/f.bin")
    assert not part.exists() and keep.read_bytes() == b"other"
    assert store.partial("dir/f.bin") is None and store.segments("dir/f.bin") == []
    store.drop_partial("never-started.bin")  # no part file: no error
    store.close()
    again = StateStore(tmp_path)
    try:
        assert again.partial("dir/f.bin") is None and again.partial_paths() == set()
    finally:
        again.close()


def test_part_path_is_inside_parts_and_stable(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    try:
        odd = "../../etc/passwd\n"
        assert store.part_path(odd).parent == store.parts
        assert store.part_path("a") == store.part_path("a") != store.part_path("b")
    finally:
        store.close()


def _make_read_only(store: StateStore) -> None:
    with store._db_lock:
        store._db.execute("PRAGMA query_only=1")  # every write now raises sqlite3.OperationalError


def _make_executemany_fail(store: StateStore) -> None:
    store._db = _ProxyDB(store._db, fail=sqlite3.OperationalError("disk I/O error"))  # type: ignore[assignment]


@pytest.mark.parametrize("breaker", [_make_read_only, _make_executemany_fail])
def test_writer_failure_sets_error_and_never_hangs(tmp_path: Path, breaker: Callable[[StateStore], None]) -> None:
    final = _final(tmp_path, "v.bin", b"v")
    store = StateStore(tmp_path)
    breaker(store)
    assert store.error is None
    info = PartialInfo("https://h.test/p", '"e"', None, 10)
    store.set_partial("p.bin", info)
    _in_thread_within(store.flush)
    assert store.error is not None
    assert "could not be saved" in store.error and str(store.root) in store.error
    first_error = store.error
    # later changes are still taken (in memory), and waiting for them still returns
    store.set_segments("s.bin", [Segment(0, 0, 9)])
    store.mark_verified("v.bin", final, {})
    _in_thread_within(store.flush)
    _in_thread_within(lambda: store.is_verified("v.bin", final, {}, None))
    assert store.partial("p.bin") == info and store.segments("s.bin") == [Segment(0, 0, 9)]
    assert store.error == first_error  # the first failure is what is reported
    _in_thread_within(store.close)
    # nothing of it was saved, as the error says
    again = StateStore(tmp_path)
    try:
        assert again.partial_paths() == set()
        assert not again.is_verified("v.bin", final, {}, None)
        assert again.error is None
    finally:
        again.close()


def test_flush_returns_when_the_writer_thread_is_gone(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.close()
    store._put(("INSERT INTO partial VALUES (?, ?, ?, ?, ?)", [("x", "u", None, None, None)]))
    _in_thread_within(store.flush)  # nobody will ever commit it: flush must not wait forever


# --- Engine.run reports the store's error -----------------------------------------------------

BODY = bytes(range(256)) * 64  # 16 KiB
BODY_MD5 = hashlib.md5(BODY).hexdigest()


def _serve_body(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"ETag": '"v1"'})


def _run_engine(dest: Path) -> Any:
    manifest = Manifest(Dataset("10.1/x"), (FileEntry("dir/f.bin", len(BODY), {"md5": BODY_MD5},
                                                      ("https://h.test/f",)),))

    async def go() -> Any:
        with httpx.Client(transport=httpx.MockTransport(_serve_body)) as client:
            return await Engine(client, dest, options=TransferOptions(max_wait=1)).run(manifest)

    return asyncio.run(go())


def test_engine_reports_no_state_error_when_the_store_works(tmp_path: Path) -> None:
    report = _run_engine(tmp_path)
    assert report.count("downloaded") == 1
    assert not any("could not be saved" in m for m in report.messages)


def test_engine_puts_the_store_error_into_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = StateStore.__init__
    stores: list[StateStore] = []

    def broken_init(self: StateStore, dest: Path) -> None:
        original(self, dest)
        _make_read_only(self)
        stores.append(self)

    monkeypatch.setattr(StateStore, "__init__", broken_init)
    report = _run_engine(tmp_path)
    assert len(stores) == 1 and stores[0].error is not None
    assert report.count("downloaded") == 1 and (tmp_path / "dir/f.bin").read_bytes() == BODY
    assert stores[0].error in report.messages


# =============================================================================================
# 2. http: coalesced, the cookie jar, per-thread clients
# =============================================================================================

def _greedy(chunks: list[bytes], size: int) -> list[bytes]:
    """The specified grouping: whole chunks, handed on as soon as ``size`` bytes are held."""
    out: list[bytes] = []
    held = b""
    for chunk in chunks:
        held += chunk
        if len(held) >= size:
            out.append(held)
            held = b""
    if held:
        out.append(held)
    return out


def test_coalesced_joins_small_chunks_and_yields_the_tail() -> None:
    chunks = [b"aaa", b"bbb", b"ccc", b"d"]
    assert list(coalesced(iter(chunks), 5)) == [b"aaabbb", b"cccd"]
    assert list(coalesced(iter(chunks), 3)) == [b"aaa", b"bbb", b"ccc", b"d"]
    assert list(coalesced(iter(chunks), 100)) == [b"aaabbbcccd"]
    assert list(coalesced(iter([b"x" * 10]), 4)) == [b"x" * 10]  # a big chunk is never split
    assert list(coalesced(iter([]), 4)) == []


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(min_size=1, max_size=40), max_size=30), size=st.integers(1, 120))
def test_coalesced_is_the_greedy_grouping(chunks: list[bytes], size: int) -> None:
    pieces = list(coalesced(iter(chunks), size))
    assert b"".join(pieces) == b"".join(chunks)
    assert all(len(p) >= size for p in pieces[:-1])
    assert pieces == _greedy(chunks, size)


def _breaking(chunks: list[bytes], error: Exception) -> Iterator[bytes]:
    yield from chunks
    raise error


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(min_size=1, max_size=40), max_size=30), size=st.integers(1, 120),
       error=st.sampled_from([httpx.ReadError("reset"), httpx.RemoteProtocolError("short"),
                              httpx.ReadTimeout("slow"), httpx.StreamClosed()]))
def test_coalesced_hands_on_what_it_held_then_reraises(chunks: list[bytes], size: int, error: Exception) -> None:
    got: list[bytes] = []
    with pytest.raises(type(error)) as raised:
        for piece in coalesced(_breaking(chunks, error), size):
            got.append(piece)  # noqa: PERF402 - kept up to the error, which list() would lose
    assert raised.value is error
    assert b"".join(got) == b"".join(chunks)  # every byte that arrived, none twice
    assert got == _greedy(chunks, size)


def test_coalesced_on_error_at_a_piece_boundary_yields_nothing_extra() -> None:
    got: list[bytes] = []
    with pytest.raises(httpx.ReadError):
        for piece in coalesced(_breaking([b"ab", b"cd"], httpx.ReadError("x")), 4):
            got.append(piece)  # noqa: PERF402 - kept up to the error, which list() would lose
    assert got == [b"abcd"]


def test_coalesced_lets_other_errors_through() -> None:
    with pytest.raises(ValueError):
        list(coalesced(_breaking([b"ab"], ValueError("bug")), 4))


# --- the cookie jar ---------------------------------------------------------------------------

class CookieServer:
    """a.test/login redirects to a.test/data and sets a cookie; a.test/cross redirects to b.test."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (url, Cookie header)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url), request.headers.get("cookie")))
        path, host = request.url.path, request.url.host
        if host == "a.test" and path == "/login":
            return httpx.Response(302, headers={"Location": "/data", "Set-Cookie": "sid=abc; Path=/"})
        if host == "a.test" and path == "/cross":
            return httpx.Response(302, headers={"Location": "https://b.test/x",
                                                "SET-COOKIE": "hop=1; Path=/"})
        if host == "a.test" and path == "/logout":
            return httpx.Response(200, headers={"Set-Cookie": "sid=gone; Path=/; Max-Age=0"})
        return httpx.Response(200, text="ok")

    def cookie_for(self, url: str) -> str | None:
        return [c for u, c in self.seen if u == url][-1]


def _jar_client(server: CookieServer) -> httpx.Client:
    return httpx.Client(cookies=d2http._CookieJar(), transport=httpx.MockTransport(server), trust_env=False)


def test_project_clients_use_the_skipping_cookie_jar() -> None:
    with make_sync_client() as client:
        assert type(client.cookies.jar) is d2http._CookieJar
    async_client = make_client()
    try:
        assert type(async_client.cookies.jar) is d2http._CookieJar
    finally:
        asyncio.run(async_client.aclose())
    clients = ThreadClients()
    try:
        assert type(clients().cookies.jar) is d2http._CookieJar
    finally:
        clients.close()


def test_cookie_from_a_redirect_hop_is_sent_on_the_next_request() -> None:
    server = CookieServer()
    with _jar_client(server) as client:
        response = send_sync(client, "GET", "https://a.test/login")  # the project's hop-by-hop follower
        assert response.status_code == 200
        assert server.cookie_for("https://a.test/login") is None
        assert server.cookie_for("https://a.test/data") == "sid=abc"
        # httpx's own redirect following sees it too
        client.cookies.clear()
        client.get("https://a.test/login", follow_redirects=True)
        assert [c for _, c in server.seen[-2:]] == [None, "sid=abc"]


def test_response_without_set_cookie_leaves_the_jar_as_is() -> None:
    server = CookieServer()
    with _jar_client(server) as client:
        send_sync(client, "GET", "https://a.test/login")
        before = [(c.domain, c.name, c.value) for c in client.cookies.jar]
        for _ in range(3):
            client.get("https://a.test/plain")
        assert [(c.domain, c.name, c.value) for c in client.cookies.jar] == before
        assert server.cookie_for("https://a.test/plain") == "sid=abc"
        # a response that does set a cookie is still honoured (here: expiring it)
        client.get("https://a.test/logout")
        client.get("https://a.test/after")
        assert server.cookie_for("https://a.test/after") is None
        assert list(client.cookies.jar) == []


def test_jar_skips_the_parse_only_when_no_cookie_is_set() -> None:
    server = CookieServer()
    with _jar_client(server) as client:
        jar = client.cookies.jar
        calls: list[int] = []
        real = jar.make_cookies

        def counting(response: Any, request: Any) -> Any:
            calls.append(1)
            return real(response, request)

        jar.make_cookies = counting  # type: ignore[method-assign]
        client.get("https://a.test/plain")
        client.get("https://b.test/plain")
        assert calls == []
        client.get("https://a.test/login")  # the 302 sets one
        assert calls == [1]


def test_cookie_for_one_host_is_never_sent_to_another() -> None:
    server = CookieServer()
    with _jar_client(server) as client:
        send_sync(client, "GET", "https://a.test/login")
        client.get("https://b.test/y")
        assert server.cookie_for("https://b.test/y") is None
        # a redirect that sets a cookie on a.test and leads to b.test: b.test gets none of a's
        send_sync(client, "GET", "https://a.test/cross")
        assert server.cookie_for("https://a.test/cross") == "sid=abc"
        assert server.cookie_for("https://b.test/x") is None
        client.get("https://a.test/back")
        assert sorted((server.cookie_for("https://a.test/back") or "").split("; ")) == ["hop=1", "sid=abc"]
        client.get("https://c.test/z")
        assert server.cookie_for("https://c.test/z") is None


# --- per-thread clients -----------------------------------------------------------------------

def _ssl_contexts(client: httpx.Client) -> list[ssl.SSLContext]:
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    return [t._pool._ssl_context for t in transports]  # type: ignore[attr-defined]


def test_thread_clients_one_per_thread_sharing_one_tls_context() -> None:
    clients = ThreadClients(max_connections=2)
    try:
        mine = clients()
        assert clients() is mine and clients() is mine
        barrier = threading.Barrier(6)
        theirs: list[tuple[httpx.Client, httpx.Client]] = []
        lock = threading.Lock()

        def worker() -> None:
            barrier.wait()  # all threads ask at once
            first = clients()
            second = clients()
            with lock:
                theirs.append((first, second))

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(theirs) == 6 and all(a is b for a, b in theirs)
        every = [mine, *(a for a, _ in theirs)]
        assert len({id(c) for c in every}) == 7
        assert len(clients._clients) == 7  # all registered, none lost to a race
        contexts = [ctx for c in every for ctx in _ssl_contexts(c)]
        assert isinstance(contexts[0], ssl.SSLContext)
        assert all(ctx is contexts[0] for ctx in contexts)
        assert all(c.headers["user-agent"] == d2http.USER_AGENT for c in every)
    finally:
        clients.close()
    assert all(c.is_closed for c in every)


def test_thread_clients_close_refuses_new_clients() -> None:
    clients = ThreadClients()
    made: list[httpx.Client] = []
    t = threading.Thread(target=lambda: made.append(clients()))
    t.start()
    t.join(10)
    mine = clients()
    clients.close()
    assert mine.is_closed and made[0].is_closed
    errors: list[BaseException] = []

    def late() -> None:
        try:
            clients()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=late)
    t.start()
    t.join(10)
    assert len(errors) == 1 and "closed" in str(errors[0])
    assert clients._clients == []


# =============================================================================================
# 3. paths.inside_many against the old per-path realpath check
# =============================================================================================

def _reference(dest: Path, relative: str) -> Path:
    """The old ``inside``: the real path of dest/relative, refused when outside the real dest."""
    root = Path(os.path.realpath(dest))
    real = Path(os.path.realpath(root / relative))
    if real != root and root not in real.parents:
        raise UnsafePath(relative)
    return real


def _folder_inside(dest: Path, relative: str) -> bool:
    root = Path(os.path.realpath(dest))
    folder = Path(os.path.realpath(root / relative.rpartition("/")[0]))
    return folder == root or root in folder.parents


def _first_of(dest: Path, relative: str) -> Path:
    return inside_many(dest, [relative])[0]


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except UnsafePath:
        return UnsafePath


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``base/real`` is the destination, reached through ``base/dest`` (a symlink to it)."""
    base = Path(os.path.realpath(tmp_path_factory.mktemp("tree")))
    real, outside = base / "real", base / "outside"
    (real / "a" / "b").mkdir(parents=True)
    (outside / "sub").mkdir(parents=True)
    (real / "f").write_text("f")
    (real / "a" / "f").write_text("af")
    (real / "a" / "b" / "g").write_text("g")
    (outside / "secret").write_text("s")
    links = {
        real / "in_dir": "a",                       # relative, inside
        real / "in_file": "a/f",
        real / "in_abs": str(real / "a" / "b"),      # absolute, inside
        real / "a" / "to_top": "..",                 # back up to the destination itself
        real / "out_dir": "../outside",              # relative, outside
        real / "out_file": "../outside/secret",
        real / "out_abs": str(outside / "sub"),      # absolute, outside
        real / "dangling": "missing",
        real / "dangling_out": "../outside/missing",
        real / "up": "..",                           # the destination's parent
        real / "loop": "loop",
        base / "dest": "real",
    }
    for link, target in links.items():
        link.symlink_to(target)
    return base


COMPONENTS = ["a", "b", "f", "g", "in_dir", "in_file", "in_abs", "to_top", "out_dir", "out_file",
              "out_abs", "dangling", "dangling_out", "up", "real", "outside", "secret", "sub",
              "new", "..", ".", ""]
# not "loop": past a symlink loop os.path.realpath stops resolving (Python 3.11), so the reference
# itself is no longer the real path; see test_inside_many_symlink_loop_then_dotdot below
# relative paths only: a leading "" component would make the path absolute (see test below)
relatives = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=5).filter(lambda c: c[0] != "").map("/".join)


def _dests(tree: Path) -> list[Path]:
    return [tree / "real", tree / "dest"]


def test_inside_many_examples(tree: Path) -> None:
    real = tree / "real"
    for dest in _dests(tree):
        got = inside_many(dest, ["f", "a/f", "a/b/g", "in_dir/f", "in_file", "in_abs/g", "a/to_top/f",
                                 "new/deeper/x", "dangling", "up/real/f"])
        assert got == [real / "f", real / "a/f", real / "a/b/g", real / "a/f", real / "a/f", real / "a/b/g",
                       real / "f", real / "new/deeper/x", real / "missing", real / "f"]
        for bad in ["out_dir/x", "out_file", "out_abs", "out_abs/x", "dangling_out", "up/x", "..", "a/../../x",
                    "in_dir/../../outside/secret", "a/../f"]:  # '..' is refused even when it would land inside
            with pytest.raises(UnsafePath):
                inside_many(dest, [bad])
            with pytest.raises(UnsafePath):  # one bad path among good ones refuses the batch
                inside_many(dest, ["f", "a/f", bad])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(relative=relatives, via_link=st.booleans())
@example(relative="in_dir/../f", via_link=True)
@example(relative="a/to_top/to_top/a/b/g", via_link=False)
@example(relative="up/real/f", via_link=True)
@example(relative="loop/x", via_link=False)
def test_inside_many_never_accepts_what_the_reference_refuses(tree: Path, relative: str, via_link: bool) -> None:
    dest = _dests(tree)[via_link]
    expected = _outcome(lambda: _reference(dest, relative))
    got = _outcome(lambda: inside_many(dest, [relative])[0])
    if got is not UnsafePath:
        assert got == expected  # accepted: exactly the old real path
    if expected is UnsafePath:
        assert got is UnsafePath


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(relative=relatives, via_link=st.booleans())
@example(relative="in_dir/f", via_link=True)
@example(relative="a/to_top", via_link=False)
@example(relative="a/..", via_link=False)
def test_inside_many_agrees_with_the_reference_when_the_folder_is_inside(
        tree: Path, relative: str, via_link: bool) -> None:
    dest = _dests(tree)[via_link]
    assume(".." not in relative.split("/"))  # refused outright (see test_inside_many_examples)
    assert _outcome(lambda: inside_many(dest, [relative])[0]) == _outcome(lambda: _reference(dest, relative))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(relatives, min_size=1, max_size=8), via_link=st.booleans())
def test_inside_many_batch_equals_one_by_one(tree: Path, batch: list[str], via_link: bool) -> None:
    """The per-folder cache changes nothing: a batch is the single checks in order."""
    dest = _dests(tree)[via_link]
    singles = [_outcome(functools.partial(_first_of, dest, r)) for r in batch]
    got = _outcome(lambda: inside_many(dest, batch))
    if any(s is UnsafePath for s in singles):
        assert got is UnsafePath
    else:
        assert got == singles
        if all(_folder_inside(dest, r) for r in batch):
            assert got == [_reference(dest, r) for r in batch]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(relative=relatives, via_link=st.booleans())
@example(relative="etc/passwd", via_link=False)
@example(relative="a", via_link=True)
def test_inside_many_absolute_input_never_lands_outside(tree: Path, relative: str, via_link: bool) -> None:
    """Not relative, so outside the contract; whatever comes back must still be inside."""
    dest = _dests(tree)[via_link]
    root = Path(os.path.realpath(dest))
    got = _outcome(lambda: inside_many(dest, ["/" + relative])[0])
    assert got is UnsafePath or got == root or root in got.parents


@pytest.mark.parametrize("relative, lands", [("out_dir/back", "a"), ("out_dir/back_file", "a/f"),
                                             ("up/real", "")])
def test_inside_many_folder_outside_but_target_back_inside(tmp_path: Path, relative: str, lands: str) -> None:
    real, outside = tmp_path / "real", tmp_path / "outside"
    (real / "a").mkdir(parents=True)
    outside.mkdir()
    (real / "a" / "f").write_text("x")
    (real / "out_dir").symlink_to(outside)
    (real / "up").symlink_to("..")
    (outside / "back").symlink_to(real / "a")
    (outside / "back_file").symlink_to(real / "a" / "f")
    expected = _reference(real, relative)
    assert expected == Path(os.path.realpath(real / lands))  # the old check accepts it
    assert inside_many(real, [relative]) == [expected]


def test_inside_many_symlink_loop_then_dotdot_never_escapes(tmp_path: Path) -> None:
    real, outside = tmp_path / "real", tmp_path / "outside"
    real.mkdir()
    outside.mkdir()
    (real / "loop").symlink_to("loop")
    (real / "out_dir").symlink_to(outside)
    try:
        got = inside_many(real, ["loop/../out_dir/x"])[0]
    except UnsafePath:
        return
    lands = Path(os.path.realpath(got))  # where a write to the returned path ends up
    assert lands == real or real in lands.parents, f"{got} is written to {lands}"


# =============================================================================================
# 4. host_of == httpx.URL(url).host
# =============================================================================================

_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
_idn = st.sampled_from(["bücher", "BÜCHER", "Bücher", "münchen", "中国", "xn--bcher-kva", "ПРИМЕР", "straße"])
_dns = st.lists(st.one_of(_label, _idn), min_size=1, max_size=4).map(".".join)
_ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_ipv6 = st.sampled_from(["[::1]", "[2001:DB8::1]", "[::ffff:192.168.0.1]"])
_host = st.one_of(_dns, _dns.map(lambda h: h + ".example"), _ipv4, _ipv6)
_userinfo = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:%@", max_size=12).map(lambda u: u + "@")
_port = st.one_of(st.just(""), st.just(":"), st.integers(0, 65535).map(lambda p: f":{p}"))
_part_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=15)
_tail = st.tuples(
    st.one_of(st.just(""), _part_text.map(lambda p: "/" + p)),
    st.one_of(st.just(""), _part_text.map(lambda q: "?" + q)),
    st.one_of(st.just(""), _part_text.map(lambda f: "#" + f)),
).map("".join)
urls = st.builds(lambda s, u, h, p, t: f"{s}://{u}{h}{p}{t}",
                 st.sampled_from(["http", "https", "HTTP", "Https"]),
                 st.one_of(st.just(""), _userinfo), _host, _port, _tail)


def _host_outcome(fn: Callable[[], str]) -> Any:
    try:
        return fn()
    except httpx.InvalidURL:
        return httpx.InvalidURL


@settings(max_examples=500, deadline=None)
@given(url=urls)
@example(url="https://user:p@ss@Host.Example:8443/a@b?c=@d#e@f")
@example(url="http://bücher.example/x")
@example(url="HTTPS://xn--bcher-kva.EXAMPLE/?q=http://other.test/")
@example(url="http://[::1]:80/")
@example(url="http://a.test?x=/@evil.test")
@example(url="http://a.test#@evil.test/")
@example(url="http://evil.test@a.test/")
@example(url="https://A.TEST:443")
def test_host_of_matches_httpx(url: str) -> None:
    expected = _host_outcome(lambda: httpx.URL(url).host)
    assert _host_outcome(lambda: host_of(url)) == expected
    assert _host_outcome(lambda: host_of(url)) == expected  # and again, from the cache


@pytest.mark.parametrize("url", ["//a.test/x", "a.test/x", "/just/a/path", "", "mailto:x@a.test"])
def test_host_of_without_scheme_separator(url: str) -> None:
    assert host_of(url) == httpx.URL(url).host


def test_host_of_cache_does_not_mix_origins() -> None:
    assert host_of("https://One.test/a") == "one.test"
    assert host_of("https://two.test/a") == "two.test"
    assert host_of("https://x@One.test/b") == "one.test"
    assert host_of("https://one.test:1/b") == "one.test"
    assert host_of("https://bücher.example/b") == host_of("https://xn--bcher-kva.example/c") == "bücher.example"


# =============================================================================================
# 5. disk.Writeback
# =============================================================================================

class DiskCalls:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def sync_file_range(self, fd: int, offset: int, nbytes: int, flags: int) -> int:
        self.calls.append(("sfr", fd, offset, nbytes, flags))
        return 0

    def fadvise(self, fd: int, offset: int, length: int, advice: int) -> None:
        self.calls.append(("fadvise", fd, offset, length, advice))


@pytest.fixture
def diskcalls(monkeypatch: pytest.MonkeyPatch) -> DiskCalls:
    rec = DiskCalls()
    monkeypatch.setattr(disk, "_sync_file_range", rec.sync_file_range)
    monkeypatch.setattr(os, "posix_fadvise", rec.fadvise)
    return rec


FD = 97
DONTNEED = os.POSIX_FADV_DONTNEED


def test_writeback_queues_windows_and_drops_each_after_the_next(diskcalls: DiskCalls) -> None:
    wb = disk.Writeback(FD, 5, drop=True, every=10)
    wb.written(9)     # 4 bytes: below the window
    wb.written(14)    # 9 bytes
    assert diskcalls.calls == []
    wb.written(15)    # 10 bytes: queue 5..15; nothing queued before it, so nothing dropped
    assert diskcalls.calls == [("sfr", FD, 5, 10, SFR_WRITE)]
    wb.written(20)
    assert len(diskcalls.calls) == 1
    wb.written(31)    # queue 15..31, then wait for and drop the previous window 5..15
    assert diskcalls.calls[1:] == [("sfr", FD, 15, 16, SFR_WRITE), ("sfr", FD, 5, 10, SFR_WAIT_ALL),
                                   ("fadvise", FD, 5, 10, DONTNEED)]
    wb.written(45)    # queue 31..45, drop 15..31
    assert diskcalls.calls[4:] == [("sfr", FD, 31, 14, SFR_WRITE), ("sfr", FD, 15, 16, SFR_WAIT_ALL),
                                   ("fadvise", FD, 15, 16, DONTNEED)]
    wb.written(50)
    assert len(diskcalls.calls) == 7
    wb.finish()       # the rest, from the last dropped byte to the end of the file
    assert diskcalls.calls[7:] == [("fadvise", FD, 31, 0, DONTNEED)]


def test_writeback_without_drop_only_queues(diskcalls: DiskCalls) -> None:
    wb = disk.Writeback(FD, 0, drop=False, every=10)
    for end in (3, 10, 12, 25, 40, 41):
        wb.written(end)
    wb.finish()
    assert diskcalls.calls == [("sfr", FD, 0, 10, SFR_WRITE), ("sfr", FD, 10, 15, SFR_WRITE),
                               ("sfr", FD, 25, 15, SFR_WRITE)]


def test_writeback_finish_before_any_window_drops_from_the_start(diskcalls: DiskCalls) -> None:
    wb = disk.Writeback(FD, 1000, drop=True, every=10)
    wb.written(1004)
    wb.finish()
    assert diskcalls.calls == [("fadvise", FD, 1000, 0, DONTNEED)]


def test_writeback_default_window_is_the_module_constant(diskcalls: DiskCalls) -> None:
    wb = disk.Writeback(FD, 0, drop=True)
    wb.written(disk.WRITEBACK_EVERY - 1)
    assert diskcalls.calls == []
    wb.written(disk.WRITEBACK_EVERY)
    assert diskcalls.calls == [("sfr", FD, 0, disk.WRITEBACK_EVERY, SFR_WRITE)]


@pytest.mark.parametrize("drop", [True, False])
def test_writeback_does_nothing_without_sync_file_range(monkeypatch: pytest.MonkeyPatch, drop: bool) -> None:
    rec = DiskCalls()
    monkeypatch.setattr(disk, "_sync_file_range", None)
    monkeypatch.setattr(os, "posix_fadvise", rec.fadvise)
    wb = disk.Writeback(FD, 0, drop=drop, every=10)
    for end in (5, 10, 30, 100):
        wb.written(end)
    wb.finish()
    disk.start_writeback(FD, 0, 10)
    disk.drop_written(FD, 0, 10)
    assert rec.calls == [] and not disk.available()


@settings(max_examples=200, deadline=None)
@given(offset=st.integers(0, 1000), every=st.integers(1, 50),
       steps=st.lists(st.integers(0, 60), max_size=40), drop=st.booleans())
def test_writeback_windows_cover_the_written_bytes_in_order(offset: int, every: int, steps: list[int],
                                                            drop: bool) -> None:
    rec = DiskCalls()
    saved_sfr, saved_fadvise = disk._sync_file_range, os.posix_fadvise
    disk._sync_file_range, os.posix_fadvise = rec.sync_file_range, rec.fadvise  # type: ignore[assignment]
    try:
        wb = disk.Writeback(FD, offset, drop=drop, every=every)
        end = offset
        ends: list[int] = []
        for step in steps:
            end += step
            before = len(rec.calls)
            wb.written(end)
            if len(rec.calls) > before:
                ends.append(end)
        wb.finish()
    finally:
        disk._sync_file_range, os.posix_fadvise = saved_sfr, saved_fadvise  # type: ignore[assignment]
    queued = [(c[2], c[2] + c[3]) for c in rec.calls if c[0] == "sfr" and c[4] == SFR_WRITE]
    waited = [(c[2], c[2] + c[3]) for c in rec.calls if c[0] == "sfr" and c[4] == SFR_WAIT_ALL]
    advised = [(c[2], c[3]) for c in rec.calls if c[0] == "fadvise"]
    # queued windows are back to back from the start offset, each at least `every` long, each
    # ending where the writer was when it was queued
    starts = ([offset] + [e for _, e in queued])[:len(queued)]
    assert [s for s, _ in queued] == starts
    assert [e for _, e in queued] == ends
    assert all(e - s >= every for s, e in queued)
    assert all(c[1] == FD for c in rec.calls)
    if not drop:
        assert waited == [] and advised == []
        return
    # each window is waited for and dropped right after the next one was queued
    assert waited == queued[:-1]
    kinds = [(c[0], c[4]) for c in rec.calls]
    expected_kinds: list[tuple[str, int]] = []
    for i in range(len(queued)):
        expected_kinds.append(("sfr", SFR_WRITE))
        if i:
            expected_kinds += [("sfr", SFR_WAIT_ALL), ("fadvise", DONTNEED)]
    expected_kinds.append(("fadvise", DONTNEED))  # finish
    assert kinds == expected_kinds
    assert advised[:-1] == [(s, e - s) for s, e in waited]
    last_dropped = waited[-1][1] if waited else offset
    assert advised[-1] == (last_dropped, 0)


# =============================================================================================
# 6. FileFetcher._drain: a broken body leaves exactly the received bytes on disk
# =============================================================================================

class BrokenBody(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes], *, broken: bool = True) -> None:
        self.chunks = chunks
        self.error = httpx.ReadError("connection reset") if broken else None
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True


def _no_client() -> httpx.Client:
    raise AssertionError("_drain must not open connections of its own")


class Drain:
    """A FileFetcher with just what ``_drain`` needs, and a response from a MockTransport."""

    def __init__(self, dest: Path) -> None:
        self.store = StateStore(dest)
        self.advanced: list[tuple[str, int]] = []
        self.fetcher = FileFetcher(_no_client, self.store, HostLimiter(), d2http.Credentials(), FetchSettings(),
                                   lambda local, n: self.advanced.append((local, n)),
                                   None)  # type: ignore[arg-type]  # no executor: _drain is called directly
        self.part = self.store.part_path("f.bin")

    def response(self, body: BrokenBody) -> httpx.Response:
        client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, stream=body)))
        return client.send(client.build_request("GET", "https://h.test/f"), stream=True)

    def drain(self, body: BrokenBody, offset: int = 0, hasher: MultiHasher | None = None,
              truncate: bool = True) -> tuple[int | Retry, list[int]]:
        written: list[int] = []
        try:
            got: int | Retry = self.fetcher._drain(self.response(body), self.part, offset, "f.bin", hasher,
                                                   written.append, threading.Event(), truncate=truncate)
        except Retry as exc:
            got = exc
        return got, written

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def drainer(tmp_path: Path) -> Iterator[Drain]:
    d = Drain(tmp_path)
    yield d
    d.close()


def _blob(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) % 251 for i in range(n))


def test_drain_broken_below_one_block_writes_what_was_held(drainer: Drain) -> None:
    data = _blob(5 * 100_000)
    chunks = [data[i:i + 100_000] for i in range(0, len(data), 100_000)]
    assert len(data) < fetch.BLOCK  # everything was still held by coalesced when the body broke
    body = BrokenBody(chunks)
    hasher = MultiHasher(["md5"])
    got, written = drainer.drain(body, hasher=hasher)
    assert isinstance(got, Retry) and "connection failed" in got.reason and "h.test" in got.reason
    assert drainer.part.read_bytes() == data
    assert written == [len(data)]
    assert sum(n for _, n in drainer.advanced) == len(data)
    assert hasher.digests() == {"md5": hashlib.md5(data).hexdigest()}


def test_drain_broken_after_several_blocks(drainer: Drain) -> None:
    chunk = 64 << 10
    data = _blob(20 * chunk + 123, seed=3)
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    got, written = drainer.drain(BrokenBody(chunks), hasher=MultiHasher(["sha256"]))
    assert isinstance(got, Retry)
    assert drainer.part.read_bytes() == data
    assert written == [fetch.BLOCK, len(data)]  # one full block, then the held tail before the error


def test_drain_broken_exactly_at_a_block_boundary(drainer: Drain) -> None:
    chunk = 64 << 10
    data = _blob(fetch.BLOCK, seed=5)
    got, written = drainer.drain(BrokenBody([data[i:i + chunk] for i in range(0, len(data), chunk)]))
    assert isinstance(got, Retry) and drainer.part.read_bytes() == data and written == [fetch.BLOCK]


def test_drain_broken_resume_at_offset_cuts_the_stale_tail(drainer: Drain) -> None:
    prefix = _blob(3000, seed=1)
    drainer.part.write_bytes(prefix + b"STALE" * 1000)
    data = _blob(250_000, seed=9)
    got, written = drainer.drain(BrokenBody([data[:100_000], data[100_000:]]), offset=len(prefix))
    assert isinstance(got, Retry)
    assert drainer.part.read_bytes() == prefix + data
    assert written == [len(data)]


def test_drain_without_truncate_writes_in_place(drainer: Drain) -> None:
    drainer.part.write_bytes(b"\0" * 1000)  # a segmented file's sparse part
    got, written = drainer.drain(BrokenBody([b"abc", b"def"]), offset=100, truncate=False)
    assert isinstance(got, Retry) and written == [6]
    content = drainer.part.read_bytes()
    assert len(content) == 1000 and content[100:106] == b"abcdef"
    assert content[:100] == b"\0" * 100
    assert content[106:] == b"\0" * 894


def test_drain_complete_body_returns_its_length(drainer: Drain) -> None:
    data = _blob(300_000, seed=2)
    body = BrokenBody([data[:1000], data[1000:]], broken=False)
    got, written = drainer.drain(body)
    assert got == len(data) and drainer.part.read_bytes() == data and written == [len(data)]
    assert body.closed  # the response (and its stream) is closed either way


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 700), max_size=25), block=st.integers(1, 2000),
       offset=st.integers(0, 500), broken=st.booleans())
def test_drain_leaves_exactly_the_received_bytes(sizes: list[int], block: int, offset: int, broken: bool) -> None:
    data = _blob(sum(sizes), seed=len(sizes))
    chunks, at = [], 0
    for n in sizes:
        chunks.append(data[at:at + n])
        at += n
    saved = fetch.BLOCK
    fetch.BLOCK = block  # small blocks, so coalescing happens within a few hundred bytes
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Drain(Path(tmp))
            try:
                prefix = _blob(offset, seed=77)
                d.part.write_bytes(prefix + b"#" * 50)
                got, written = d.drain(BrokenBody(chunks, broken=broken), offset=offset)
                assert d.part.read_bytes() == prefix + data
            finally:
                d.close()
    finally:
        fetch.BLOCK = saved
    if broken:
        assert isinstance(got, Retry)
    else:
        assert got == len(data)
    assert written == list(_accumulate(_greedy(chunks, block)))
    assert sum(n for _, n in d.advanced) == len(data)


def _accumulate(pieces: list[bytes]) -> Iterator[int]:
    total = 0
    for p in pieces:
        total += len(p)
        yield total
