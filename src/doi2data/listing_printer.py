"""``ls --format ndjson|urls|aria2|*sum`` printed as the listing streams in, then checked.

Why: at a million files the listing takes ~30 s; a pipe (``| aria2c -i -``, ``| xargs``) should
get its first line at the first file (issue 19). Adapters that parse page by page
:func:`~doi2data.entry_stream.emit` each entry when it is final; :class:`StreamedListing` filters
it with the command's selection, formats it and writes it, holding nothing per file.

Lines come in the order the repository sends the files (the manifest itself is sorted by path,
so a buffered listing, ``--no-stream``, comes sorted). When the listing ends the final manifest's
lines are formatted again and compared with what was written, as a multiset (count and two
64-bit hash sums): equal means the output is exactly the buffered output in another order, with
the same safe local names ``get`` writes. Anything else - an adapter that changed an entry after
emitting it, a DOI that was not the one announced, names renamed differently because clashing
names arrived in another order - raises :class:`ListingChanged` (exit 6): the output was wrong,
and the user is told, never left with it silently. If nothing was written yet the caller prints
the final manifest as usual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO

from .entry import FileEntry
from .errors import ListingChanged
from .formats._common import Placer, Skips
from .formats.aria2 import aria2_entry, unhashed_note, url_line
from .formats.checksums import TOOLS, checked_algorithm, checksum_entry
from .formats.listing import ndjson_line
from .model import Manifest

#: the formats printed as they stream in (lines that stand alone, in any order)
STREAMABLE = ("ndjson", "urls", "aria2", *TOOLS.values())
FLUSH_BYTES = 1 << 16
FLUSH_SECONDS = 0.25
_MASK = (1 << 64) - 1


class _Lines:
    """One format's per-file text, with the placement state and notes it accumulates."""

    def __init__(self, name: str, doi: str | None) -> None:
        self.name, self.doi, self.unhashed = name, doi, 0
        if name == "ndjson":
            self.placer: Placer | None = None
            self.skips = Skips()
        else:
            self.placer = Placer(need_url=name in ("urls", "aria2"), include_restricted=name not in ("urls", "aria2"))
            self.skips = self.placer.skips
        self.algorithm = checked_algorithm(name) if name.endswith("sum") else None

    def __call__(self, entry: FileEntry) -> str | None:
        if self.placer is None:
            return ndjson_line(self.doi, entry)
        item = self.placer(entry)
        if item is None:
            return None
        if self.name == "urls":
            return url_line(item)
        if self.name == "aria2":
            text, hashed = aria2_entry(item)
            self.unhashed += not hashed
            return text
        assert self.algorithm is not None
        return checksum_entry(item, self.algorithm, self.skips)

    def notes(self) -> tuple[str, ...]:
        if self.unhashed:
            self.skips.notes.append(unhashed_note(self.unhashed))
            self.unhashed = 0
        return self.skips.export("").messages


class _Tally:
    """A multiset of hashable values in 24 bytes: count, sum and xor of their hashes (64 bits)."""

    __slots__ = ("count", "mixed", "total")

    def __init__(self) -> None:
        self.count = self.total = self.mixed = 0

    def add(self, value: object) -> None:
        h = hash(value) & _MASK
        self.count += 1
        self.total = (self.total + h) & _MASK
        self.mixed ^= h

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Tally) and (self.count, self.total, self.mixed) == (
            other.count, other.total, other.mixed)

    __hash__ = None  # type: ignore[assignment]


def fingerprint(entry: FileEntry) -> tuple[object, ...]:
    """Every field a line of any streamed format is made from (a FileEntry's own hash omits some)."""
    return (entry.path, entry.size, tuple(entry.checksums.items()), entry.urls, entry.media_type, entry.access,
            entry.note, tuple(entry.bad_checksums.items()))


class StreamedListing:
    """The sink ``ls`` sets (:func:`doi2data.entry_stream.entries_to`) for a streamable format.

    ``chooser``: the command's file selection (globs, regexes, sizes), applied to each entry as
    :func:`doi2data.select.select` applies it to the manifest. ``doi``: the DOI the ndjson lines
    carry (the one typed; ndjson is not streamed without one).
    """

    def __init__(self, name: str, out: IO[str], chooser: Callable[[FileEntry], bool], doi: str | None) -> None:
        if name not in STREAMABLE:
            raise ValueError(f"{name} is not printed as it streams in")
        self.name, self.out, self.chooser, self.doi = name, out, chooser, doi
        self.enabled = name != "ndjson" or doi is not None
        self.lines = _Lines(name, doi)
        self.tally = _Tally()    # the lines written
        self.entries = _Tally()  # the entries chosen (whether or not they made a line)
        self.written = 0  # lines handed to ``out``
        self._buffer: list[str] = []
        self._size = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()  # an adapter may emit from a worker thread

    def __call__(self, entry: FileEntry) -> None:
        if not self.enabled or not self.chooser(entry):
            return
        with self._lock:
            self.entries.add(fingerprint(entry))
            text = self.lines(entry)
            if text is None:
                return
            self.tally.add(text)
            self._buffer.append(text)
            self._size += len(text)
            now = time.monotonic()
            if not self.written or self._size >= FLUSH_BYTES or now - self._last >= FLUSH_SECONDS:
                self._flush(now)

    def _flush(self, now: float) -> None:
        if self._buffer:
            self.written += len(self._buffer)
            self.out.write("".join(self._buffer))
            self.out.flush()
            self._buffer, self._size, self._last = [], 0, now

    def _same(self, manifest: Manifest) -> bool:
        """The cheap sufficient check: the same entries (as a multiset) as were chosen, the same
        DOI, and no name renamed - without renames every local name depends on its own name only,
        so the same entries make the same lines in any order. Else the lines are compared."""
        if (self.lines.placer is not None and self.lines.placer.clashes) or (self.name == "ndjson" and manifest.dataset.doi != self.doi):
            return False
        final = _Tally()
        for entry in manifest.files:
            final.add(fingerprint(entry))
        return final == self.entries

    def finish(self, manifest: Manifest) -> tuple[str, ...] | None:
        """Check what was printed against the final (selected) ``manifest`` and write the rest.

        Returns the notes to show (files left out, renames), or None when nothing was printed
        (the caller prints ``manifest`` the usual way). Raises :class:`ListingChanged`.
        """
        with self._lock:
            self.enabled = False  # late emits (none expected) are ignored from here on
            if not self.written and not self._buffer:
                return None
            if self._same(manifest):
                self._flush(time.monotonic())
                return self.lines.notes()
            final = _Tally()
            again = _Lines(self.name, manifest.dataset.doi)
            for entry in manifest.files:
                text = again(entry)
                if text is not None:
                    final.add(text)
            if final != self.tally:
                self._flush(time.monotonic())  # what was printed stays printed; the error says so
                raise ListingChanged(
                    f"the listing changed while it was printed: {self.tally.count} line(s) written as files "
                    f"arrived, the final listing has {final.count} that differ from them; "
                    "run again with --no-stream for the listing in one piece")
            self._flush(time.monotonic())
            return self.lines.notes()


__all__ = ["STREAMABLE", "ListingChanged", "StreamedListing"]
