"""A SciCat publication's files, dataset after dataset, streamed: bounded memory for a million files.

Why (issue 19): parsing each dataset's ``origdatablocks`` answer whole (``json.loads``: a dict per
file, ~10 MB for 10,000 files) and keeping every dataset's file list until the folder names were
known held 344 MB at the peak for 1,000,000 files. Here the answers are parsed as they arrive
(ijson events; :class:`BlockParser` keeps the rules of
:func:`~doi2data.adapters._pan.scicat_api.parse_origdatablocks`) and handed on a page (the files
of at most 16 KiB of JSON) at a time, in dataset order, so the caller turns each file into its
final entry once and nothing else holds it (measured: 1,000,000 files 270 MB peak RSS, was 426).

Concurrency stays: while one dataset is parsed, up to :data:`WINDOW` - 1 later ones are read
ahead into memory as raw bytes, at most :data:`AHEAD_BYTES` each; an answer larger than that is
given up and streamed when its turn comes (a dataset whose ``numberOfFiles`` already says so is
not read ahead at all). A read-ahead never waits for anything, so it holds no connection idle.

The same wire as before (research notes pan-apis §4; scicat-backend-next): v3
``Datasets/<pid>/origdatablocks`` (a JSON array of blocks); v4
``datasets/public/<pid>?include=origdatablocks`` (the dataset document, blocks under
``origdatablocks``; ``findOneComplete`` adds them by a lookup, so after the other fields:
github.com/SciCatProject/scicat-backend-next src/datasets/datasets-public.v4.controller.ts,
checked 2026-12-06), else ``…/origdatablocks``. For v4 the dataset document is asked for twice,
without the blocks (to name the folders) and with them. Streamed reading differs from ``json.loads`` only
on documents that repeat a key: a block naming ``chkAlg`` both before and after its
``dataFileList`` is read with the first, and a block with two ``dataFileList`` keys lists both.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx
import ijson

from ...errors import Doi2DataError, RepositoryError
from ...http import BodyReader, Http, backoff_delay, raise_for_status, translate_transport_error
from ...model import normalize_algorithm
from .scicat_api import Api, Row, ScicatDataset, _str, file_row, folder_prefix

#: datasets in flight at once: the one being parsed and the ones read ahead (as many as before)
WINDOW = 8
#: the most raw bytes one read-ahead answer may hold (so at most (WINDOW - 1) x 4 MiB)
AHEAD_BYTES = 4 * 1024 * 1024
#: a file's JSON takes at least about this many bytes: a dataset whose ``numberOfFiles`` times this
#: is past :data:`AHEAD_BYTES` is not read ahead (it would be given up half-read)
_MIN_FILE_BYTES = 128
#: a streamed answer is not held, so the API limit (which guards memory) becomes this time bound
#: JSON parsed per page (one ``send`` to the parser): ~100 files of a typical dataFileList
_PAGE_BYTES = 16 * 1024
_ACCEPT = {"Accept": "application/json"}
_UNSET = object()


class BlockParser:
    """ijson events of an origdatablocks array (the whole answer, or the dataset document's
    ``base`` key) -> :data:`~doi2data.adapters._pan.scicat_api.Row` s, in order (a path listed twice
    comes twice: the caller keeps the first, where it also holds the final names).

    Only a list where a list belongs is read (like ``isinstance(…, list)`` on the parsed document).
    A block's files wait for the block's end only when its ``chkAlg`` comes after its file list.
    """

    def __init__(self, base: str, source_folder: str | None) -> None:
        block = f"{base}.item" if base else "item"
        item = f"{block}.dataFileList.item"
        self._codes = {base: 0, block: 1, f"{block}.chkAlg": 2, f"{block}.dataFileList": 3, item: 4,
                       f"{item}.path": 5, f"{item}.size": 6, f"{item}.chk": 7}
        self._prefix = folder_prefix(source_folder)
        self.restart()

    def restart(self) -> None:
        """Read an answer from its start (a retried stream)."""
        self.found = False  # the blocks array was there
        self._in_array = self._in_block = self._in_list = self._in_item = False
        self._alg: Any = _UNSET        # the block's chkAlg as given so far
        self._algorithm: str | None = None  # normalised, fixed when the file list starts
        self._pending: list[tuple[Any, Any, Any]] | None = None  # files before their block's chkAlg
        self._fields: list[Any] = [None, None, None]

    def feed(self, events: Iterable[tuple[str, str, Any]]) -> list[Row]:
        """The rows the next events complete. The file items' own events (nearly all of them) take
        the short path with the state in locals; the rest goes through :meth:`_structure`."""
        out: list[Row] = []
        codes, prefix_, pending = self._codes, self._prefix, self._pending
        in_item, in_list, fields, algorithm = self._in_item, self._in_list, self._fields, self._algorithm or ""
        for prefix, event, value in events:
            code = codes.get(prefix)
            if code is None or event == "map_key":
                continue
            if code > 4:  # a file's path, size or chk (only inside a file item, itself only inside a list)
                if in_item and event[:4] != "end_":
                    fields[code - 5] = value  # the last one given, as json.loads keeps it
            elif code == 4:
                if not in_list:
                    continue
                if event == "start_map":
                    in_item, fields = True, [None, None, None]
                elif event == "end_map" and in_item:
                    in_item = False
                    if pending is not None:
                        pending.append((fields[0], fields[1], fields[2]))
                    elif (row := file_row(fields[0], fields[1], fields[2], algorithm, prefix_, None)) is not None:
                        out.append(row)
            else:
                self._in_item, self._in_list, self._fields = in_item, in_list, fields
                self._structure(code, event, value, out)
                in_item, in_list, fields, pending = self._in_item, self._in_list, self._fields, self._pending
                algorithm = self._algorithm or ""
        self._in_item, self._in_list, self._fields = in_item, in_list, fields
        return out

    def _structure(self, code: int, event: str, value: Any, out: list[Row]) -> None:
        """The array (0), a block (1), its chkAlg (2) and its dataFileList (3)."""
        if code == 0:
            if event == "start_array":
                self._in_array = self.found = True
            elif event == "end_array":
                self._in_array = False
        elif not self._in_array:
            return
        elif code == 1:
            if event == "start_map":
                self._in_block, self._alg, self._algorithm, self._pending = True, _UNSET, None, None
            elif event == "end_map" and self._in_block:
                self._in_block = self._in_list = False
                if self._pending is not None:
                    algorithm = self._normalised()
                    for fields in self._pending:
                        self._emit(fields, algorithm, out)
                    self._pending = None
        elif not self._in_block:
            return
        elif code == 2:
            if event[:4] != "end_" and self._algorithm is None:
                self._alg = value
        elif event == "start_array":  # code 3: the block's dataFileList
            self._in_list = True
            if self._alg is not _UNSET:
                self._algorithm = self._normalised()
            elif self._pending is None:
                self._pending = []
        elif event in ("start_map", "end_array"):
            self._in_list = False

    def _normalised(self) -> str:
        return normalize_algorithm(_str(None if self._alg is _UNSET else self._alg) or "")

    def _emit(self, fields: Sequence[Any], algorithm: str, out: list[Row]) -> None:
        row = file_row(fields[0], fields[1], fields[2], algorithm, self._prefix, None)
        if row is not None:
            out.append(row)


@dataclass(frozen=True)
class _Source:
    """One request that may answer a dataset's blocks, and where in its JSON they are."""

    url: str
    params: Mapping[str, str] | None
    base: str  # "": the answer is the blocks array; "origdatablocks": a key of the dataset document
    what: str


def _sources(api: Api, pid: str) -> tuple[_Source, ...]:
    url = api.dataset(pid)
    blocks = _Source(f"{url}/origdatablocks", None, "", f"SciCat origdatablocks of {pid}")
    if api.version == "v4":
        return _Source(url, {"include": "origdatablocks"}, "origdatablocks", f"SciCat dataset {pid}"), blocks
    return (blocks,)


def _body_limit(http: Http) -> int:
    return http.streamed_limit


def _already_read(response: httpx.Response) -> bytes | None:
    try:
        return response.content  # a body already read (test transports)
    except httpx.ResponseNotRead:  # the ordinary, streamed case
        return None


def _slices(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Pieces of at most :data:`_PAGE_BYTES`: a page's parse events (~100 bytes each) and rows stay small."""
    for piece in pieces:
        for at in range(0, len(piece), _PAGE_BYTES):
            yield piece[at:at + _PAGE_BYTES] if len(piece) > _PAGE_BYTES else piece


class _FastParserRefused(Exception):
    """ijson's C parser refused an answer: it is read again with the Python one, which decides."""


def _parse_coro(events: list[Any], *, slow: bool) -> Any:
    backend: Any = ijson.get_backend("python") if slow else ijson
    return backend.parse_coro(events, use_float=True)


class _ReadAhead:
    """One answer read into memory (raw bytes, as received) while an earlier dataset is parsed.

    Given up (``complete`` stays false) past ``budget`` bytes or when the connection breaks: the
    dataset is then fetched again and streamed in its turn. An HTTP error is kept for its turn.
    """

    def __init__(self, http: Http, source: _Source, budget: int) -> None:
        self.chunks: deque[bytes] = deque()
        self.reader: BodyReader | None = None
        self.url = source.url
        self.error: Doi2DataError | None = None
        self.complete = False
        self.task = asyncio.ensure_future(self._run(http, source, budget))

    async def _run(self, http: Http, source: _Source, budget: int) -> None:
        try:
            response = await http.request("GET", source.url, params=source.params, headers=_ACCEPT, stream=True)
        except Doi2DataError as exc:
            self.error = exc
            return
        try:
            self.url = str(response.url)
            raise_for_status(response, what=source.what)
            body = _already_read(response)
            if body is None:
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > budget:
                    return
                self.reader = BodyReader(response, _body_limit(http))
                held = 0
                async for chunk in response.aiter_raw():
                    held += len(chunk)
                    if held > budget:
                        self.chunks.clear()
                        return
                    self.chunks.append(chunk)
            else:
                self.chunks.append(body)
            self.complete = True
        except Doi2DataError as exc:
            self.error = exc
        except httpx.TransportError:
            self.chunks.clear()
        finally:
            await response.aclose()


class DatasetFiles:
    """The file rows of each dataset of a publication, in order, a page at a time (:meth:`pages`).

    Use as ``async with``: leaving stops whatever is still being read ahead.
    """

    def __init__(self, http: Http, api: Api, datasets: Sequence[ScicatDataset], *, window: int | None = None,
                 ahead_bytes: int | None = None) -> None:
        self.http, self.api, self.datasets = http, api, datasets
        self.window = max(1, WINDOW if window is None else window)
        self.ahead_bytes = AHEAD_BYTES if ahead_bytes is None else ahead_bytes
        self._ahead: dict[int, _ReadAhead] = {}
        self._next = 0  # the first dataset not yet considered for reading ahead

    async def __aenter__(self) -> DatasetFiles:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        ahead, self._ahead = list(self._ahead.values()), {}
        for item in ahead:
            item.task.cancel()
        await asyncio.gather(*(item.task for item in ahead), return_exceptions=True)

    def _read_ahead(self, head: int) -> None:
        self._next = max(self._next, head + 1)
        while self._next < min(len(self.datasets), head + self.window):
            dataset = self.datasets[self._next]
            listed = dataset.number_of_files or 0
            if dataset.files is None and listed * _MIN_FILE_BYTES <= self.ahead_bytes:
                self._ahead[self._next] = _ReadAhead(self.http, _sources(self.api, dataset.pid)[0], self.ahead_bytes)
            self._next += 1

    async def pages(self, index: int) -> AsyncIterator[list[Row]]:
        """Dataset ``index``'s rows (paths relative to its source folder), a page at a time.

        A path may come more than once (listed twice, or handed on again by a stream retried after
        its connection broke): the first is the file, as :func:`.scicat_api.parse_origdatablocks` keeps it.
        """
        dataset = self.datasets[index]
        ahead = self._ahead.pop(index, None)
        self._read_ahead(index)
        if dataset.files is not None:  # listed in the dataset's own document
            if dataset.files:
                yield [(f.path, f.size, dict(f.checksums)) for f in dataset.files]
            return
        for source in _sources(self.api, dataset.pid):
            parser = BlockParser(source.base, dataset.source_folder)
            if ahead is not None:
                await ahead.task
                if ahead.error is not None:
                    raise ahead.error
            pages = self._from_memory(ahead, parser, source) if ahead is not None and ahead.complete else \
                self._stream(source, parser)
            ahead = None
            try:
                async with aclosing(pages):  # an answer left half-read is closed now, not when collected
                    async for rows in pages:
                        yield rows
            except _FastParserRefused:
                # yajl (ijson's C parser) refuses numbers json takes (integers past 64 bits): the answer
                # again through ijson's Python parser (the files already handed on come again)
                async with aclosing(self._stream(source, parser, slow=True)) as again:
                    async for rows in again:
                        yield rows
            if parser.found:
                return

    async def _from_memory(self, ahead: _ReadAhead, parser: BlockParser, source: _Source) -> AsyncIterator[list[Row]]:
        events = ijson.sendable_list()
        coro = _parse_coro(events, slow=False)
        chunks, reader = ahead.chunks, ahead.reader
        try:
            while chunks:
                chunk = chunks.popleft()
                for piece in _slices(reader.decode(chunk) if reader is not None else (chunk,)):
                    coro.send(piece)
                    if rows := parser.feed(events):
                        yield rows
                    del events[:]
            coro.close()
        except ijson.JSONError as exc:
            raise _FastParserRefused from exc
        if rows := parser.feed(events):
            yield rows

    async def _stream(self, source: _Source, parser: BlockParser, *, slow: bool = False) -> AsyncIterator[list[Row]]:
        """The answer streamed and parsed as it arrives; a connection that breaks off is retried like
        any API call (the files already handed on come again)."""
        http = self.http
        tries = max(1, http.max_attempts)
        for attempt in range(tries):
            parser.restart()
            response = await http.request("GET", source.url, params=source.params, headers=_ACCEPT, stream=True)
            url = str(response.url)
            events = ijson.sendable_list()
            coro = _parse_coro(events, slow=slow)
            try:
                raise_for_status(response, what=source.what)
                body = _already_read(response)
                if body is not None:
                    for piece in _slices((body,)):
                        coro.send(piece)
                        if rows := parser.feed(events):
                            yield rows
                        del events[:]
                else:
                    reader = BodyReader(response, _body_limit(http))
                    async for chunk in response.aiter_raw():
                        for piece in _slices(reader.decode(chunk)):
                            coro.send(piece)
                            if rows := parser.feed(events):
                                yield rows
                            del events[:]
                coro.close()
                if rows := parser.feed(events):
                    yield rows
                return
            except ijson.JSONError as exc:
                if not slow:
                    raise _FastParserRefused from exc
                raise RepositoryError(f"{source.what} at {url} is not valid JSON", url=url) from exc
            except httpx.TransportError as exc:
                if attempt == tries - 1:
                    raise translate_transport_error(exc, url) from exc
            finally:
                await response.aclose()
            await asyncio.sleep(backoff_delay(attempt))


__all__ = ["AHEAD_BYTES", "WINDOW", "BlockParser", "DatasetFiles"]
