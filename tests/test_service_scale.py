"""Issue 19 items 3-4 for the gateway: a large manifest served and cached in bounded memory.

Each test measures with tracemalloc (bytes Python allocated, not time) or checks the cache's
behaviour on a large row; the bounds are generous per file, the old code exceeded them by far.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jinja2")

from doi2data.service.cache import BLOB_CHUNK, TABLE, SQLiteStore  # noqa: E402
from doi2data.service.manifests import unpacked  # noqa: E402


def _peak(run: Callable[[], Any]) -> int:
    """Peak bytes Python allocated while ``run`` ran (above what was held before)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_unpacking_holds_one_piece_not_a_copy_of_the_body() -> None:
    """zlib's ``unconsumed_tail`` is a copy of the input not used yet: fed the whole body, every
    piece copied the rest of it (a 1,000,000-file manifest: 17 MB held, ~1 GB copied)."""
    raw = os.urandom(6 << 20)  # incompressible: the packed body is as large as the JSON
    body = zlib.compress(raw, 1)
    pieces: list[int] = []
    peak = _peak(lambda: pieces.extend(len(p) for p in unpacked(body)))
    assert sum(pieces) == len(raw) and max(pieces) <= 1 << 20
    assert peak < 3 << 20, f"{peak / 1e6:.1f} MB held while unpacking a {len(body) / 1e6:.1f} MB body"


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT key, length(body), fetched_at, lease_until FROM {TABLE} ORDER BY key").fetchall()


@pytest.mark.parametrize("layout", ["current", "older"])
def test_sqlite_large_rows_round_trip_through_the_blob_handle(tmp_path: Path, layout: str) -> None:
    """Rows above BLOB_CHUNK are written and read in pieces; small rows as values; a table made by an
    older doi2data (body in the second column) keeps working."""
    path = tmp_path / "c.sqlite"
    if layout == "older":
        with sqlite3.connect(path) as db:
            db.execute(f"CREATE TABLE {TABLE} (key TEXT PRIMARY KEY, body BLOB NOT NULL, "
                       "fetched_at REAL NOT NULL, lease_until REAL NOT NULL DEFAULT 0)")
    big, bigger, small = os.urandom(BLOB_CHUNK * 3 + 7), os.urandom(BLOB_CHUNK * 4 + 1), b'{"schema": 1}'

    async def go() -> None:
        store = SQLiteStore(path)
        try:
            assert await store.get("k") is None
            await store.put("k", big, 1.0)
            await store.put("s", small, 2.0)
            assert await store.get("k") == (big, 1.0) and await store.get("s") == (small, 2.0)
            assert await store.claim("k", 60) and not await store.claim("k", 60)
            await store.put("k", bigger, 3.0)  # replaced in place: new bytes, the lease released
            assert await store.get("k") == (bigger, 3.0)
            await store.put("k", small, 4.0)  # and back to a small row
            assert await store.get("k") == (small, 4.0)
            await store.put("k", big, 5.0)
        finally:
            await store.close()

    asyncio.run(go())
    assert _rows(path) == [("k", len(big), 5.0, 0.0), ("s", len(small), 2.0, 0.0)]
