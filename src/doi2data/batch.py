"""Many datasets in one run: ``get/ls/verify/export/transfer --from FILE`` and :func:`download_many`.

The input is a list of identifiers - one per line (blank lines and ``#`` comments ignored), or
``doi2data search --ndjson`` output (one JSON object per line with a ``doi`` field; hits without a
DOI are skipped and counted). It is read whole and checked before the first request, and it is
hostile like every input: at most :data:`MAX_LINE` bytes a line, :data:`MAX_IDENTIFIERS`
identifiers (``--max-identifiers``) and :data:`MAX_TOTAL` characters of them, UTF-8 text without
NUL or control bytes (a binary file is refused in one line), each identifier at most 2,048
characters (:func:`parse_identifier`). 100,000 DOIs are read and checked in ~2 s, ~55 MB.

Every dataset goes into its own folder under DEST (:func:`folder_name`, as a single ``get`` names
its default folder; a second dataset whose name collides, also without regard to case, gets
``-2``, ``-3`` ... in input order, so re-running the same list resumes into the same folders).
Datasets run one after another on one event loop, in one :func:`~doi2data.api.shared_session`:
one HTTP client and one per-host limiter - connections and the published rate budget - for every
listing and file of the run. One dataset failing never stops the others; each ends as a
:class:`DatasetOutcome`, and :func:`exit_code` folds them into the process's exit code.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import Doi2DataError, InvalidIdentifier, UsageError
from .identifiers import Identifier, parse_identifier
from .transfer.engine import DownloadReport, ProgressSink, TransferOptions

#: Longest accepted line, in bytes: a DOI is far shorter, a ``search --ndjson`` hit (title, URL,
#: techniques) fits with room to spare.
MAX_LINE = 16 * 1024
#: Most identifiers one list may hold (``--max-identifiers`` changes it).
MAX_IDENTIFIERS = 100_000
#: Most characters of identifiers one list may hold in all: 100,000 ordinary DOIs take ~3 MB, and
#: this keeps a list of 100,000 identifiers of 2,048 characters each from holding ~1 GB in memory.
MAX_TOTAL = 32 << 20
#: Longest folder name made from an identifier (file systems take 255 bytes; leave room for ``-N``).
MAX_FOLDER = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # one character class: linear, no backtracking
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D}  # tab and line ends are text


def folder_name(ident: Identifier) -> str:
    """``10.5281/zenodo.1`` -> ``10.5281_zenodo.1``: a safe, bounded folder name for a dataset."""
    text = ident.value if ident.scheme != "url" else ident.url.split("://", 1)[-1]
    slug = _UNSAFE.sub("_", text).strip("._") or "dataset"
    if len(slug) > MAX_FOLDER:  # keep it readable and unique: a prefix plus a digest of the whole
        slug = slug[:MAX_FOLDER - 13].rstrip("._") + "_" + hashlib.sha256(ident.key.encode()).hexdigest()[:12]
    return slug


@dataclass(frozen=True)
class BatchItem:
    """One line of the list: what the user wrote, and its identifier and folder (or why it has none)."""

    text: str
    identifier: Identifier | None = None
    folder: str | None = None
    error: str | None = None


@dataclass
class BatchInput:
    """The checked list, with what was left out of it and why."""

    items: list[BatchItem]
    notes: list[str] = field(default_factory=list)


def _shown(text: str, limit: int = 100) -> str:
    """``text`` fit for a terminal line: bounded, and escaped if it holds control characters."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _entry_text(raw: str, where: str) -> str | None:
    """The identifier on one line: plain text or a search hit's ``doi``; None for a hit without one."""
    if raw.startswith("["):
        raise UsageError(f"{where} is a JSON array; give `search --ndjson` or `search --format dois` output")
    if not raw.startswith("{"):
        return raw
    try:
        hit = json.loads(raw)
    except (ValueError, RecursionError):
        raise UsageError(f"{where} starts like JSON but is not valid JSON") from None
    if not isinstance(hit, dict):
        raise UsageError(f"{where} is not a JSON object with a \"doi\" field")
    doi = hit.get("doi")
    if doi is None:
        return None
    if not isinstance(doi, str) or not doi.strip():
        raise UsageError(f"{where}: \"doi\" is not a string")
    return doi.strip()


def _checked_items(texts: Iterable[tuple[str, str]], limit: int, name: str) -> BatchInput:
    """Identifiers (with where each came from) -> items: parsed, de-duplicated, counted, foldered."""
    items: list[BatchItem] = []
    seen: set[str] = set()
    taken: set[str] = set()
    duplicates = without_doi = total = 0
    for where, raw in texts:
        text = _entry_text(raw, where)
        if text is None:
            without_doi += 1
            continue
        if len(items) >= limit:
            raise UsageError(f"{name}: more than {limit:,} identifiers (--max-identifiers N allows more)")
        total += len(text)
        if total > MAX_TOTAL:
            raise UsageError(f"{name}: the identifiers add up to more than {MAX_TOTAL >> 20} MiB of text; split the list")
        try:
            ident = parse_identifier(text)
        except InvalidIdentifier as exc:
            items.append(BatchItem(_shown(text), error=str(exc)))
            continue
        if ident.key in seen:
            duplicates += 1
            continue
        seen.add(ident.key)
        folder = base = folder_name(ident)
        n = 1
        while folder.lower() in taken:  # case-insensitive file systems (macOS, Windows) too
            n += 1
            folder = f"{base}-{n}"
        taken.add(folder.lower())
        items.append(BatchItem(_shown(text), ident, folder))
    notes = []
    if duplicates:
        notes.append(f"{duplicates:,} duplicate identifier(s) skipped")
    if without_doi:
        notes.append(f"{without_doi:,} search hit(s) without a DOI skipped")
    if not items:
        raise UsageError(f"{name}: no identifiers" + (f" ({'; '.join(notes)})" if notes else ""))
    return BatchInput(items, notes)


def _lines(stream: IO[bytes], name: str, max_line: int) -> Iterable[tuple[str, str]]:
    """Non-blank, non-comment lines as text, each read with a bound (a line past it is refused)."""
    number = 0
    while True:
        line = stream.readline(max_line + 2)  # content + "\r\n": never more than this in memory
        if not line:
            return
        number += 1
        body = line.rstrip(b"\r\n")
        if len(body) > max_line:
            raise UsageError(f"{name}: line {number:,} is longer than {max_line:,} bytes; "
                             "expected one identifier per line")
        if number == 1 and body.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
            body = body[3:]
        try:
            if any(byte in _CONTROL for byte in body):
                raise UnicodeDecodeError("utf-8", body, 0, 1, "control byte")
            text = body.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"{name} looks binary (line {number:,} is not UTF-8 text); "
                             "expected one identifier per line or `search --ndjson` output") from None
        if text and not text.startswith("#"):
            yield f"{name}, line {number:,}", text


def read_identifiers(source: str | Path | IO[bytes], *, max_identifiers: int = MAX_IDENTIFIERS,
                     max_line: int = MAX_LINE) -> BatchInput:
    """Read and check a ``--from`` list: a path, ``-`` (stdin) or a binary stream."""
    if isinstance(source, (str, Path)) and str(source) == "-":
        return _checked_items(_lines(sys.stdin.buffer, "stdin", max_line), max_identifiers, "stdin")
    if not isinstance(source, (str, Path)):
        return _checked_items(_lines(source, "--from input", max_line), max_identifiers, "--from input")
    name = f"--from {_shown(str(source), 200)}"
    try:
        with open(source, "rb") as stream:
            return _checked_items(_lines(stream, name, max_line), max_identifiers, name)
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as exc:
        raise UsageError(f"{name}: {exc.strerror or exc}") from None


def items_of(identifiers: Iterable[str | Mapping[str, Any]], *, max_identifiers: int = MAX_IDENTIFIERS) -> BatchInput:
    """The Python API's input: identifier strings, or search hits (mappings with a ``doi``)."""

    def texts() -> Iterable[tuple[str, str]]:
        for number, value in enumerate(identifiers, 1):
            if isinstance(value, Mapping):
                yield f"item {number:,}", json.dumps({"doi": value.get("doi")})
            elif isinstance(value, str):
                text = value.strip()
                if len(text) > MAX_LINE:
                    raise UsageError(f"item {number:,} is longer than {MAX_LINE:,} characters")
                if text and not text.startswith("#"):
                    yield f"item {number:,}", text
            else:
                raise UsageError(f"item {number:,} is not an identifier string")

    return _checked_items(texts(), max_identifiers, "identifiers")


# outcomes ----------------------------------------------------------------------------------------
@dataclass
class DatasetOutcome:
    """How one dataset of a batch ended. Counts that do not apply to the command stay ``None``."""

    identifier: str
    folder: str | None
    ok: bool
    files: int = 0
    bytes: int = 0
    verified: int | None = None
    failed: int | None = None
    unchecked: int | None = None
    skipped: int | None = None
    error: str | None = None
    exit_code: int = 0
    report: DownloadReport | None = field(default=None, repr=False, compare=False)  # get / download_many

    @classmethod
    def failure(cls, item: BatchItem, exc: Doi2DataError | str, code: int | None = None) -> DatasetOutcome:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return cls(item.text, item.folder, False, error=_shown(message, 300),
                   exit_code=code if code is not None else getattr(exc, "exit_code", 1))

    @classmethod
    def of_report(cls, item: BatchItem, report: DownloadReport) -> DatasetOutcome:
        failed = len(report.failed)
        return cls(item.text, item.folder, not failed, files=len(report.results), bytes=report.bytes_transferred,
                   verified=report.verified, failed=failed, unchecked=len(report.unchecked),
                   skipped=report.count("skipped"), exit_code=1 if failed else 0, report=report,
                   error=f"{failed} file(s) failed" if failed else None)

    def to_json(self) -> dict[str, Any]:
        data = {"event": "dataset", "identifier": self.identifier, "folder": self.folder,
                "status": "ok" if self.ok else "failed", "files": self.files, "bytes": self.bytes,
                "verified": self.verified, "failed": self.failed, "unchecked": self.unchecked,
                "skipped": self.skipped, "error": self.error, "exit_code": self.exit_code}
        return data

    def line(self) -> str:
        """One summary line: where it went and its counts, or its error."""
        from .sizes import human_size

        head = ("ok      " if self.ok else "FAILED  ") + self.identifier
        if not self.ok and not self.files:
            return f"{head}: {self.error} (exit {self.exit_code})"
        counts = [f"{self.files} file(s)", human_size(self.bytes)]
        counts += [f"{value} {label}" for label, value in (("verified", self.verified), ("failed", self.failed),
                                                         ("unchecked", self.unchecked), ("skipped", self.skipped))
                   if value is not None]
        where = f" -> {self.folder}" if self.folder else ""
        tail = f" ({self.error}; exit {self.exit_code})" if not self.ok else ""
        return f"{head}{where}: {', '.join(counts)}{tail}"


def exit_code(outcomes: Sequence[DatasetOutcome]) -> int:
    """0 when every dataset succeeded; the failures' code when they all share one (a list whose only
    bad entry is a DOI that does not exist exits 4, like a single ``get``); 1 for mixed failures."""
    codes = {o.exit_code for o in outcomes if not o.ok}
    if not codes:
        return 0
    return codes.pop() if len(codes) == 1 else 1


#: Summary lines shown at most; beyond that only failures are listed (``--json`` has every one).
SUMMARY_ROWS = 1000


def summary_lines(outcomes: Sequence[DatasetOutcome], notes: Sequence[str] = ()) -> list[str]:
    """The run's one summary: a line per dataset (only the failures past :data:`SUMMARY_ROWS`), the totals."""
    bad = [o for o in outcomes if not o.ok]
    shown = list(outcomes) if len(outcomes) <= SUMMARY_ROWS else bad[:SUMMARY_ROWS]
    lines = [o.line() for o in shown]
    if len(shown) < len(outcomes):
        lines.append(f"... {len(outcomes) - len(shown):,} more dataset(s) not listed (--json lists each)")
    lines += [f"note: {n}" for n in notes]
    code = exit_code(outcomes)
    lines.append(f"{len(outcomes):,} dataset(s): {len(outcomes) - len(bad):,} ok, {len(bad):,} failed"
                 + (f" (exit {code})" if code else ""))
    return lines


def summary_json(outcomes: Sequence[DatasetOutcome], notes: Sequence[str] = ()) -> dict[str, Any]:
    bad = sum(1 for o in outcomes if not o.ok)
    return {"event": "batch", "datasets": len(outcomes), "ok": len(outcomes) - bad, "failed": bad,
            "exit_code": exit_code(outcomes), "notes": list(notes)}


class BatchIncomplete(Doi2DataError):
    """Some datasets of a ``--from`` run failed; ``exit_code`` is :func:`exit_code` of the outcomes."""

    def __init__(self, outcomes: Sequence[DatasetOutcome]) -> None:
        bad = [o for o in outcomes if not o.ok]
        super().__init__(f"{len(bad):,} of {len(outcomes):,} dataset(s) failed (listed above)")
        self.exit_code = exit_code(outcomes)
        self.outcomes = list(outcomes)


# running -------------------------------------------------------------------------------------------
Work = Callable[[BatchItem], Awaitable[DatasetOutcome]]


async def arun(items: Sequence[BatchItem], work: Work, *, options: TransferOptions | None = None,
               tokens: Sequence[str] = (), on_start: Callable[[int, BatchItem], None] | None = None,
               on_done: Callable[[DatasetOutcome], None] | None = None) -> list[DatasetOutcome]:
    """Run ``work`` for each dataset in turn inside one shared session; a failure stays with its dataset."""
    from .api import shared_session

    outcomes: list[DatasetOutcome] = []
    async with shared_session(options, tokens):
        for index, item in enumerate(items):
            if on_start is not None:
                on_start(index, item)
            if item.error is not None or item.identifier is None:
                outcome = DatasetOutcome.failure(item, item.error or "not an identifier", InvalidIdentifier.exit_code)
            else:
                try:
                    outcome = await work(item)
                except Doi2DataError as exc:
                    outcome = DatasetOutcome.failure(item, exc)
                except OSError as exc:  # disk full, permissions: this dataset, one line
                    text = f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc)
                    outcome = DatasetOutcome.failure(item, text, 1)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return outcomes


def run(items: Sequence[BatchItem], work: Work, **kwargs: Any) -> list[DatasetOutcome]:
    """:func:`arun` from synchronous code."""
    from .api import _run

    return _run(arun(items, work, **kwargs))


async def adownload_many(
    identifiers: Iterable[str | Mapping[str, Any]] | BatchInput, dest: str | Path = ".", *,
    options: TransferOptions | None = None, tokens: Sequence[str] = (),
    progress: Callable[[BatchItem], ProgressSink | None] | None = None,
    on_start: Callable[[int, BatchItem], None] | None = None,
    on_done: Callable[[DatasetOutcome], None] | None = None, **download: Any,
) -> list[DatasetOutcome]:
    """Download each dataset into its own folder under ``dest`` (see :func:`download_many`)."""
    from .api import adownload

    batch = identifiers if isinstance(identifiers, BatchInput) else items_of(identifiers)
    root = Path(dest)

    async def one(item: BatchItem) -> DatasetOutcome:
        sink = progress(item) if progress is not None else None
        try:
            report = await adownload(item.identifier or item.text, root / (item.folder or "dataset"), progress=sink,
                                     raise_on_failure=False, options=options, tokens=tokens, **download)
        finally:
            stop = getattr(sink, "stop", None)
            if callable(stop):
                stop()
        return DatasetOutcome.of_report(item, report)

    return await arun(batch.items, one, options=options, tokens=tokens, on_start=on_start, on_done=on_done)


def download_many(
    identifiers: Iterable[str | Mapping[str, Any]] | BatchInput, dest: str | Path = ".", *,
    options: TransferOptions | None = None,
    tokens: Sequence[str] = (), **download: Any,
) -> list[DatasetOutcome]:
    """Download many datasets, each into ``dest/<folder named after its DOI>``, and return one
    :class:`DatasetOutcome` per dataset (``.report`` holds its :class:`DownloadReport`).

    ``identifiers``: DOIs / handles / URLs, or search hits (mappings with a ``doi``). Every dataset
    shares one client and one per-host rate budget; one failing (not found, a file that failed)
    never stops the others and raises nothing: check ``.ok`` / ``.error``, or :func:`exit_code`.
    Other keywords (``include``, ``exclude``, ``regex``, ``min_size``, ``max_size``, ``restore``,
    ``restore_timeout``, ``guestbook``) are those of :func:`doi2data.download`, applied to each.
    """
    return _sync(adownload_many(identifiers, dest, options=options, tokens=tokens, **download))


def _sync(coro: Any) -> Any:
    from .api import _run

    return _run(coro)


__all__ = ["MAX_IDENTIFIERS", "MAX_LINE", "MAX_TOTAL", "BatchIncomplete", "BatchInput", "BatchItem", "DatasetOutcome",
           "adownload_many", "arun", "download_many", "exit_code", "folder_name", "items_of", "read_identifiers",
           "run", "summary_json", "summary_lines"]
