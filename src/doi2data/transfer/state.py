"""Download state kept next to the data, in ``<dest>/.doi2data/``.

Why here and not in a global cache: the state describes *these* bytes on *this* disk, so it must
move, be backed up and be deleted together with them. SQLite (stdlib) because it survives
``kill -9`` mid-write (journaled), stays fast with 20,000 files, and needs no server. Changes are
committed in batches by one writer thread (see :class:`StateStore`).

* ``verified``: files already checked (size, mtime, digests) so a re-run moves and re-hashes
  nothing;
* ``partial``: validators (ETag / Last-Modified) of in-progress ``parts/*.part`` files, so a
  resume can send ``If-Range`` and never splice two versions of a file together;
* ``segments``: for files fetched in byte-range segments, how much of each segment is on disk
  (updated after the bytes are written, so after ``kill -9`` nothing recorded is missing).

A database that cannot be read (truncated, not a database, malformed pages, an unexpected
schema) or is locked by another process raises :class:`~doi2data.errors.StateDamaged` (one line,
exit 11) instead of a traceback; nothing from it is trusted. :func:`set_aside` moves it out of the
way (``--rebuild-state``): the next run starts an empty state and checks the files already on
disk by hashing them against the manifest, so none is trusted without a check.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import StateDamaged
from ..paths import STATE_DIR

STATE_DB = "state.sqlite"
LOCK_TIMEOUT = 30.0  # seconds to wait for another process's lock before giving up
_DB_FILES = (STATE_DB, STATE_DB + "-wal", STATE_DB + "-shm", STATE_DB + "-journal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verified (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, checksums TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS partial (
    path TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT, size INTEGER
);
CREATE TABLE IF NOT EXISTS segments (
    path TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    done INTEGER NOT NULL, PRIMARY KEY (path, idx)
);
"""


@dataclass(frozen=True)
class Segment:
    """Bytes ``start..end`` (inclusive) of a file; ``done`` of them are on disk."""

    idx: int
    start: int
    end: int
    done: int = 0

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class PartialInfo:
    url: str
    etag: str | None
    last_modified: str | None
    size: int | None


_STOP = None  # the writer's end-of-queue marker
MAX_BACKLOG = 16_384  # rows queued for the writer before bulk recording waits for it
LINGER = 0.02  # seconds the writer waits after the first change, so one commit carries many
Op = tuple[str, list[tuple[object, ...]]]  # one statement, run once per parameter row
LOOKUP_BATCH = 500  # names per ``IN (...)`` query (SQLite takes at least 999 parameters)


class StateStore:
    """SQLite-backed record of verified files and partial downloads, written behind the transfer.

    Why a writer thread: with thousands of small files, one commit per file from 16 worker
    threads contended for the connection's lock and the GIL (about a tenth of the run's time,
    measured on benchmark (c)). Here the in-progress records (``partial``, ``segments``) live in
    memory, loaded once, and every change is queued and committed in batches by one thread
    (group commit). Each record is queued *after* the bytes it describes are written, so what
    reaches the database never claims more than the disk has; a ``kill -9`` can only lose the
    newest records, which costs a local re-hash (``verified``) or re-fetching a few bytes
    (``partial``/``segments``), never a wrong file.
    """

    def __init__(self, dest: Path) -> None:
        self.root = dest / STATE_DIR
        self.parts = self.root / "parts"
        self.path = self.root / STATE_DB
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StateDamaged(f"{self.root} is not a folder; move it away (doi2data keeps its state there)") from exc
        self._db = self._open()
        self._lock = threading.Lock()  # guards the in-memory records and the pending count
        self._db_lock = threading.Lock()  # the connection: the writer's batches, a reader's query
        self._checked: dict[str, tuple[str, ...]] = {}  # this run's verifications: algorithms used
        self._queue: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        self._pending = 0
        self._pending_rows = 0  # parameter rows queued: bulk recording waits while there are too many
        self._drained = threading.Condition(self._lock)
        self.error: str | None = None  # set when the writer failed: state is then not being saved
        self._writer = threading.Thread(target=self._write_loop, name="doi2data-state", daemon=True)
        self._writer.start()

    def _open(self) -> sqlite3.Connection:
        """Connect, check and load the in-progress records; any failure is :class:`StateDamaged`."""
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=LOCK_TIMEOUT, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            check = db.execute("PRAGMA quick_check(1)").fetchone()  # reads every page once: ms for 20,000 rows
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else 'no answer'}")
            db.executescript(_SCHEMA)
            self._partial = {str(path): PartialInfo(str(url), _text(etag), _text(modified), _int(size))
                             for path, url, etag, modified, size in
                             db.execute("SELECT path, url, etag, last_modified, size FROM partial")}
            self._segments: dict[str, dict[int, Segment]] = {}
            for path, idx, start, end, done in db.execute("SELECT path, idx, start, end, done FROM segments"):
                self._segments.setdefault(str(path), {})[int(idx)] = Segment(int(idx), int(start), int(end), int(done))
            self._any_verified = bool(db.execute("SELECT path, size, mtime_ns, checksums FROM verified LIMIT 1").fetchall())
            return db
        except (sqlite3.Error, TypeError, ValueError) as exc:
            if db is not None:
                db.close()
            raise damaged(self.path, exc) from exc

    # the writer -------------------------------------------------------------------------------
    def _put(self, *ops: Op) -> None:
        with self._lock:
            self._pending += len(ops)
            self._pending_rows += sum(len(rows) for _, rows in ops)
        for op in ops:
            self._queue.put(op)

    def _keep_up(self) -> None:
        """Wait while more than :data:`MAX_BACKLOG` rows are queued: a run recording a million files
        faster than SQLite commits them (``INSERT OR REPLACE`` over existing rows is the slow case)
        would otherwise hold them all in the queue (~190 bytes each)."""
        with self._lock:
            while self._pending_rows > MAX_BACKLOG and self._writer.is_alive():
                self._drained.wait(1.0)

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch = [self._queue.get()]
            if batch[0] is not _STOP:
                time.sleep(LINGER)  # gather what comes next into the same commit: fewer wake-ups
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ops = [op for op in batch if op is not _STOP]
            stop = len(ops) < len(batch)
            if ops and self.error is None:
                try:
                    with self._db_lock:
                        self._db.execute("BEGIN")
                        for sql, rows in ops:
                            self._db.executemany(sql, rows)
                        self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self.error = f"download state could not be saved: {damaged(self.path, exc)}"
            with self._lock:
                self._pending -= len(ops)
                self._pending_rows -= sum(len(rows) for _, rows in ops)
                self._drained.notify_all()  # flush() waits for none left, _keep_up() for a short queue

    def flush(self) -> None:
        """Wait until every queued change is committed."""
        with self._lock:
            while self._pending > 0 and self._writer.is_alive():
                self._drained.wait(1.0)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._writer.join()
        self._db.close()

    def part_path(self, local: str) -> Path:
        """Temporary name for ``local``: hashed, so odd names never reach the file system here."""
        return self.parts / (hashlib.sha1(local.encode()).hexdigest() + ".part")

    # verified files ---------------------------------------------------------------------
    def verified_digests(self, local: str, final: Path, size: int | None) -> dict[str, str] | None:
        """The digests ``local`` was verified against (``{}``: it was kept unchecked), or None when
        there is no record or the file changed since (size, mtime) or no longer has ``size``."""
        if self._pending and local in self._checked:  # only this file's own record can be in flight
            self.flush()  # (waiting on every lookup cost the writer's LINGER per file: 20 ms each)
        try:
            with self._db_lock:
                row = self._db.execute("SELECT size, mtime_ns, checksums FROM verified WHERE path=?",
                                       (local,)).fetchone()
            if row is None or not final.is_file():
                return None
            st = final.stat()
            if st.st_size != row[0] or st.st_mtime_ns != row[1] or (size is not None and size != row[0]):
                return None
            recorded = json.loads(str(row[2]))
        except (sqlite3.Error, ValueError) as exc:
            raise damaged(self.path, exc) from exc
        if not isinstance(recorded, dict):
            return None
        return {str(k): str(v) for k, v in recorded.items()}

    def verified_many(self, locals_: list[str]) -> dict[str, tuple[int, int, str]]:
        """The ``verified`` records of ``locals_`` (``local -> (size, mtime_ns, checksums JSON)``), one
        query per :data:`LOOKUP_BATCH` names: planning a million files asked a million queries.
        Nothing is asked while the table is empty (a first run)."""
        if not self._any_verified or not locals_:
            return {}
        if self._pending and any(local in self._checked for local in locals_):
            self.flush()  # one of these files' own record is still in flight
        found: dict[str, tuple[int, int, str]] = {}
        try:
            with self._db_lock:
                for start in range(0, len(locals_), LOOKUP_BATCH):
                    chunk = locals_[start:start + LOOKUP_BATCH]
                    sql = f"SELECT path, size, mtime_ns, checksums FROM verified WHERE path IN ({','.join('?' * len(chunk))})"
                    for path, size, mtime_ns, checksums in self._db.execute(sql, chunk):
                        found[str(path)] = (int(size), int(mtime_ns), str(checksums))
        except (sqlite3.Error, TypeError, ValueError) as exc:
            raise damaged(self.path, exc) from exc
        return found

    def is_verified(self, local: str, final: Path, checksums: dict[str, str], size: int | None) -> bool:
        """Recorded, unchanged, and verified against every one of ``checksums`` (pass the usable
        ones): a checksum the manifest gained since is not vouched for by the old record."""
        recorded = self.verified_digests(local, final, size)
        return recorded is not None and all(recorded.get(k) == v for k, v in checksums.items())

    def checked(self, local: str) -> tuple[str, ...]:
        """Algorithms ``local`` was verified with in this run (empty: kept on size alone, or not at all)."""
        with self._lock:
            return self._checked.get(local, ())

    def mark_verified(self, local: str, final: Path, digests: dict[str, str]) -> None:
        """Record ``final`` as verified against exactly ``digests`` (``{}``: nothing could be checked)."""
        st = final.stat()
        with self._lock:
            self._any_verified = True
            self._checked[local] = tuple(sorted(digests))
            self._partial.pop(local, None)
            self._segments.pop(local, None)
        self._put(("INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?)",
                   [(local, st.st_size, st.st_mtime_ns, digests_json(digests))]),
                  *self._forget(local))

    def mark_verified_many(self, rows: list[tuple[str, int, int, dict[str, str]]]) -> None:
        """Record files as verified, one queued statement for all of them: ``(local, size, mtime_ns,
        digests)``, the size and mtime stat'ed *before* the bytes were hashed (a change while hashing
        then shows as a different mtime next time: hashed again, never trusted).

        Unlike :meth:`mark_verified` nothing is kept in memory per file (no :meth:`checked` entry):
        the caller knows what it checked, and a million rows stay on disk only."""
        if not rows:
            return
        with self._lock:
            self._any_verified = True
            gone = [(local,) for local, *_ in rows
                    if (self._partial.pop(local, None), self._segments.pop(local, None)) != (None, None)]
        ops: list[Op] = [("INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?)",
                          [(local, size, mtime_ns, digests_json(digests)) for local, size, mtime_ns, digests in rows])]
        if gone:
            ops += [("DELETE FROM partial WHERE path=?", gone), ("DELETE FROM segments WHERE path=?", gone)]
        self._put(*ops)
        self._keep_up()

    @staticmethod
    def _forget(local: str) -> tuple[Op, Op]:
        return (("DELETE FROM partial WHERE path=?", [(local,)]), ("DELETE FROM segments WHERE path=?", [(local,)]))

    # partial files ----------------------------------------------------------------------
    def partial(self, local: str) -> PartialInfo | None:
        return self._partial.get(local)

    def partial_paths(self) -> set[str]:
        """Every file with a partial download on record."""
        with self._lock:
            return set(self._partial) | set(self._segments)

    def set_partial(self, local: str, info: PartialInfo) -> None:
        with self._lock:
            self._partial[local] = info
        self._put(("INSERT OR REPLACE INTO partial VALUES (?, ?, ?, ?, ?)",
                   [(local, info.url, info.etag, info.last_modified, info.size)]))

    def drop_partial(self, local: str) -> None:
        with self._lock:
            self._partial.pop(local, None)
            self._segments.pop(local, None)
        self._put(*self._forget(local))
        self.part_path(local).unlink(missing_ok=True)

    # segments -------------------------------------------------------------------------------
    def segments(self, local: str) -> list[Segment]:
        with self._lock:
            return sorted(self._segments.get(local, {}).values(), key=lambda s: s.idx)

    def set_segments(self, local: str, segments: list[Segment]) -> None:
        with self._lock:
            if segments:
                self._segments[local] = {s.idx: s for s in segments}
            else:
                self._segments.pop(local, None)
        self._put(("DELETE FROM segments WHERE path=?", [(local,)]),
                  ("INSERT INTO segments VALUES (?, ?, ?, ?, ?)",
                   [(local, s.idx, s.start, s.end, s.done) for s in segments]))

    def segment_done(self, local: str, idx: int, done: int) -> None:
        with self._lock:
            known = self._segments.get(local, {}).get(idx)
            if known is None:
                return  # the plan was dropped meanwhile (file restarted or verified)
            self._segments[local][idx] = Segment(idx, known.start, known.end, done)
        self._put(("UPDATE segments SET done=? WHERE path=? AND idx=?", [(done, local, idx)]))


_PLAIN = re.compile(r"[A-Za-z0-9_]*")  # algorithm names and hex digests: nothing JSON would escape


def digests_json(digests: dict[str, str]) -> str:
    """``json.dumps(digests, sort_keys=True)``, written directly when no name or value needs escaping
    (always, for digests computed here): the encoder's per-call setup was a tenth of recording a
    million files."""
    if len(digests) == 1:  # the usual case, one algorithm
        ((k, v),) = digests.items()
        if _PLAIN.fullmatch(k) and _PLAIN.fullmatch(v):
            return f'{{"{k}": "{v}"}}'
    elif all(_PLAIN.fullmatch(k) and _PLAIN.fullmatch(v) for k, v in digests.items()):
        return "{" + ", ".join(f'"{k}": "{digests[k]}"' for k in sorted(digests)) + "}"
    return json.dumps(digests, sort_keys=True)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def damaged(path: Path, exc: BaseException) -> StateDamaged:
    """One line for a state database that failed, saying what to do about it."""
    text = " ".join(str(exc).split())[:200] or type(exc).__name__  # sqlite's integrity report spans lines
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StateDamaged(f"download state {path} is locked by another process ({text}); wait for the other "
                            "doi2data run on this destination to finish, or re-run with --rebuild-state")
    return StateDamaged(f"download state {path} is damaged ({text}); re-run with --rebuild-state to set it "
                        "aside and re-check the files on disk by hashing")


def set_aside(dest: Path) -> Path | None:
    """Move a (damaged) state database out of the way and drop the part files it described.

    Returns where the database went (``state.sqlite.damaged-<UTC time>`` beside it, kept for a
    post-mortem), or None when there was none. Part files go too: without their records
    (validators, segment progress) they cannot be resumed safely, only fetched again.
    """
    root = dest / STATE_DIR
    if not root.is_dir():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    moved: Path | None = None
    for name in _DB_FILES:
        source = root / name
        if source.exists() or source.is_symlink():
            target = root / f"{name}.damaged-{stamp}"
            source.replace(target)
            moved = moved or target
    parts = root / "parts"
    if parts.is_dir() and not parts.is_symlink():
        for part in parts.iterdir():
            if part.is_file() or part.is_symlink():
                part.unlink()
    return moved


__all__ = ["LOCK_TIMEOUT", "STATE_DB", "STATE_DIR", "PartialInfo", "Segment", "StateStore", "damaged", "digests_json",
           "set_aside"]
