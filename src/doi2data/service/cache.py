"""Where manifests are kept between requests: SQLite (embedded, default) or PostgreSQL (shared).

Why two stores behind one small async interface: a single gateway needs nothing but a file
(SQLite, under the user's cache dir), while several gateway processes or machines share one
PostgreSQL table so a DOI resolved by one is a hit for all. Rows hold the manifest JSON
(``Manifest.to_json``, the ``ls --json`` contract) and when it was fetched; freshness rules
(TTL, stale-while-revalidate) live in :mod:`.manifests`, not here. ``claim`` is a short lease
so only one process refreshes a stale row at a time. No credentials are ever stored: rows are
public metadata only.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError
from ..model import Dataset, DatasetInfo, FileEntry, Manifest

TABLE = "doi2data_manifests"
#: Rows larger than this go in and out of SQLite through its blob handle, this many bytes at a time.
BLOB_CHUNK = 1 << 20
_DATASET_FIELDS = set(Dataset.__dataclass_fields__)


def manifest_from_json(data: Mapping[str, Any]) -> Manifest:
    """Inverse of :meth:`Manifest.to_json` (unknown keys ignored, so old rows still load)."""
    ds = {k: v for k, v in dict(data.get("dataset") or {}).items() if k in _DATASET_FIELDS}
    ds["creators"] = tuple(ds.get("creators") or ())
    files = (file_from_json(f) for f in data.get("files") or ())  # into the compact list one at a time
    datasets = tuple(DatasetInfo.from_json(d) for d in data.get("datasets") or () if isinstance(d, Mapping))
    return Manifest(Dataset(**ds), files, tuple(data.get("warnings") or ()), datasets=datasets)


def file_from_json(f: Mapping[str, Any]) -> FileEntry:
    """Inverse of :meth:`FileEntry.to_json`."""
    return FileEntry(path=f["path"], size=f.get("size"), checksums=f.get("checksums") or {},
                     urls=tuple(f.get("urls") or ([f["url"]] if f.get("url") else [])),
                     media_type=f.get("media_type"), access=f.get("access") or "open", note=f.get("note"),
                     dataset=f["dataset"] if isinstance(f.get("dataset"), str) else None)


class Store(Protocol):
    """The cache table: ``key -> (json body, fetched_at)``."""

    description: str

    async def get(self, key: str) -> tuple[bytes, float] | None: ...
    async def put(self, key: str, body: bytes, fetched_at: float) -> None: ...
    async def claim(self, key: str, seconds: float) -> bool: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    """No persistence (tests, throwaway gateways)."""

    description = "memory"

    def __init__(self) -> None:
        self._rows: dict[str, tuple[bytes, float, float]] = {}

    async def get(self, key: str) -> tuple[bytes, float] | None:
        row = self._rows.get(key)
        return (row[0], row[1]) if row else None

    async def put(self, key: str, body: bytes, fetched_at: float) -> None:
        self._rows[key] = (body, fetched_at, 0.0)

    async def claim(self, key: str, seconds: float) -> bool:
        body, fetched, lease = self._rows.get(key, (b"", 0.0, 0.0))
        now = time.time()
        if lease > now:
            return False
        self._rows[key] = (body, fetched, now + seconds)
        return True

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class SQLiteStore:
    """One SQLite file in WAL mode; every call runs on one private thread (sqlite3 blocks)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"sqlite:///{path}"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="doi2data-cache")
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # body last: a zeroblob() in the last column is not filled in (see _put); a table made by an
            # older doi2data (body second) works the same, at the cost of that buffer
            db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, fetched_at REAL NOT NULL, "
                       "lease_until REAL NOT NULL DEFAULT 0, body BLOB NOT NULL)")
            self._db = db
        return self._db

    async def _run(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self._conn().execute(sql, args))

    async def get(self, key: str) -> tuple[bytes, float] | None:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._get, key)

    async def put(self, key: str, body: bytes, fetched_at: float) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._put, key, body, fetched_at)

    def _get(self, key: str) -> tuple[bytes, float] | None:
        """A large body is read through the blob handle into one buffer: fetched as a value it
        existed twice (SQLite's copy, then Python's), ~20 MB extra for a 1,000,000-file manifest."""
        db = self._conn()
        db.execute("BEGIN")  # one snapshot: the row cannot change between its length and its bytes
        try:
            row = db.execute(f"SELECT rowid, length(body), fetched_at FROM {TABLE} WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            rowid, size, fetched_at = row
            if size <= BLOB_CHUNK:
                body = db.execute(f"SELECT body FROM {TABLE} WHERE rowid = ?", (rowid,)).fetchone()[0]
                return bytes(body), float(fetched_at)
            out = io.BytesIO()
            with db.blobopen(TABLE, "body", rowid, readonly=True) as blob:
                while piece := blob.read(BLOB_CHUNK):
                    out.write(piece)
            return out.getvalue(), float(fetched_at)  # getvalue hands the buffer over, no copy
        finally:
            db.execute("COMMIT")

    def _put(self, key: str, body: bytes, fetched_at: float) -> None:
        """A large body is written through the blob handle in pieces, in one transaction (no reader
        sees the zero-filled row): bound as a value, SQLite copied it whole first."""
        db = self._conn()
        upsert = (f"INSERT INTO {TABLE} (key, body, fetched_at, lease_until) VALUES (?, {{}}, ?, 0) "
                  "ON CONFLICT(key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at, "
                  "lease_until = 0")
        if len(body) <= BLOB_CHUNK:
            db.execute(upsert.format("?"), (key, body, fetched_at))
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(upsert.format("zeroblob(?)"), (key, len(body), fetched_at))
            rowid = db.execute(f"SELECT rowid FROM {TABLE} WHERE key = ?", (key,)).fetchone()[0]
            view = memoryview(body)
            with db.blobopen(TABLE, "body", rowid) as blob:
                for at in range(0, len(view), BLOB_CHUNK):
                    blob.write(view[at : at + BLOB_CHUNK])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def claim(self, key: str, seconds: float) -> bool:
        now = time.time()
        cur = await self._run(f"UPDATE {TABLE} SET lease_until = ? WHERE key = ? AND lease_until < ?",
                              (now + seconds, key, now))
        return cur.rowcount == 1

    async def ping(self) -> None:
        await self._run("SELECT 1", ())

    async def close(self) -> None:
        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None
        await asyncio.get_running_loop().run_in_executor(self._pool, shut)
        self._pool.shutdown(wait=True)


class PostgresStore:
    """One table in PostgreSQL (psycopg 3, async), shared by every gateway process pointed at it."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self.description = urlunsplit((parts.scheme, netloc, parts.path, "", ""))  # never the password
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            for _ in range(3):  # concurrent CREATE TABLE IF NOT EXISTS can still collide on pg_type
                try:
                    await conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key text PRIMARY KEY, body bytea NOT NULL, "
                                       "fetched_at double precision NOT NULL, "
                                       "lease_until double precision NOT NULL DEFAULT 0)")
                    break
                except psycopg.errors.UniqueViolation:
                    await asyncio.sleep(0.05)
            self._conn = conn
        return self._conn

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> Any:
        import psycopg

        async with self._lock:
            for attempt in (0, 1):
                try:
                    conn = await self._connection()
                    return await conn.execute(sql, args)
                except psycopg.OperationalError:
                    if attempt:
                        raise
                    self._conn = None  # the server restarted or the connection dropped: reconnect once
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, key: str) -> tuple[bytes, float] | None:
        cur = await self._execute(f"SELECT body, fetched_at FROM {TABLE} WHERE key = %s", (key,))
        row = await cur.fetchone()
        return (bytes(row[0]), float(row[1])) if row else None

    async def put(self, key: str, body: bytes, fetched_at: float) -> None:
        await self._execute(f"INSERT INTO {TABLE} (key, body, fetched_at, lease_until) VALUES (%s, %s, %s, 0) "
                            "ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body, fetched_at = EXCLUDED.fetched_at, "
                            "lease_until = 0", (key, body, fetched_at))

    async def claim(self, key: str, seconds: float) -> bool:
        now = time.time()
        cur = await self._execute(f"UPDATE {TABLE} SET lease_until = %s WHERE key = %s AND lease_until < %s",
                                  (now + seconds, key, now))
        return bool(cur.rowcount == 1)

    async def ping(self) -> None:
        await self._execute("SELECT 1", ())

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def default_sqlite_path() -> Path:
    """``<user cache dir>/doi2data/gateway.sqlite`` (platformdirs, else ``$XDG_CACHE_HOME``)."""
    try:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("doi2data", appauthor=False))
    except ImportError:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doi2data"
    return base / "gateway.sqlite"


def open_store(url: str | None) -> Store:
    """``None`` -> default SQLite; ``sqlite:///p`` or a path; ``postgresql://...``; ``memory:``."""
    if url is None or url == "":
        return SQLiteStore(default_sqlite_path())
    low = url.lower()
    if low in ("memory", "memory:"):
        return MemoryStore()
    if low.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise UsageError("a postgresql:// cache needs psycopg: pip install 'doi2data[serve]'") from exc
        return PostgresStore(url)
    if low.startswith("sqlite:"):
        path = url.split(":", 1)[1]
        path = path[2:] if path.startswith("//") else path  # sqlite:///abs/path -> /abs/path
        path = "/" + path.lstrip("/") if path.startswith("/") else path  # sqlite:////abs works too
        return SQLiteStore(Path(path).expanduser())
    if "://" in url:
        raise UsageError(f"unsupported cache URL {url!r}: use a path, sqlite:///path, postgresql://... or memory:")
    return SQLiteStore(Path(url).expanduser())


__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore", "Store", "default_sqlite_path", "manifest_from_json",
           "open_store"]
