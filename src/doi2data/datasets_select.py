"""``--dataset EXPR``: choose the datasets inside a DOI by their science (the ``--where`` grammar).

A manifest whose source knows its datasets (ESRF ICAT+, SciCat, PSI folders) carries
:attr:`~doi2data.model.Manifest.datasets`, and each file names its dataset. An expression such as
``kind == 'processed' and sample like 'lyso*'`` or ``wavelength < 1.0`` is parsed by
:mod:`doi2data.subset.where` (no ``eval``, bounded length and depth) and evaluated on one row per
dataset with the names

* ``name``, ``kind`` (raw / processed / other), ``sample``, ``technique``, ``instrument``,
  ``start``, ``end`` (ISO 8601 text: ``start >= '2023-02'`` compares as text), ``files``, ``size``;
* every scientific parameter by its name (numbers compare as numbers, in the unit the repository
  gives; ``ls --json`` shows the unit). A parameter name that is not a plain word
  (``Beam energy``) is also reachable with its other characters as ``_`` (``Beam_energy``).

A selection keeps the chosen datasets (``Manifest.datasets``) and their files; files that belong
to no dataset are dropped. A name no dataset of the DOI has is an error listing the known names
(typos fail loudly); so is ``--dataset`` on a DOI whose source lists no datasets.

Why a context variable as well as a parameter: the CLI's ``--dataset`` reaches every
:func:`doi2data.select.select` a command makes (``ls``, ``get``, ``verify``, ``export``,
``transfer``, each dataset of ``--from``) without changing every signature in between, as
``--max-depth`` does for listings.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import replace
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .errors import UsageError
from .model import DatasetInfo, Manifest
from .subset.where import Where, parse_where

FIELDS = ("name", "kind", "sample", "technique", "instrument", "start", "end", "files", "size")
_ACTIVE: ContextVar[str | None] = ContextVar("doi2data_dataset_selection", default=None)
_NOT_WORD = re.compile(r"[^A-Za-z0-9_.]")
#: manifests this module produced, by id, with the expression that made them: applying the same
#: expression again (``resolve`` then ``download(manifest)``) is a no-op, not a second name check
_DONE: weakref.WeakValueDictionary[int, Manifest] = weakref.WeakValueDictionary()
_DONE_TEXT: dict[int, str] = {}


def _error(exc: UsageError) -> UsageError:
    return UsageError(str(exc).replace("--where", "--dataset", 1))


def check(text: str) -> str:
    """Parse ``text`` once for its syntax (before any request); returns it unchanged."""
    try:
        parse_where(text)
    except UsageError as exc:
        raise _error(exc) from None
    return text


def _names(info: DatasetInfo) -> Iterator[tuple[str, Any]]:
    for name, value, _unit in info.parameters:
        yield name, value
        plain = _NOT_WORD.sub("_", name)
        if plain != name and (plain[:1].isalpha() or plain[:1] == "_"):
            yield plain, value


def rows(manifest: Manifest, *, counts: bool = True) -> dict[str, dict[str, Any]]:
    """One row per dataset name: its fields, its parameters by name and (``counts``) its file count and size.

    Counting walks every file; :func:`select_datasets` asks for it only when the expression names
    ``files`` or ``size``.
    """
    tally: dict[str | None, list[int]] = {}
    for f in manifest.files if counts else ():
        seen = tally.setdefault(f.dataset, [0, 0])
        seen[0] += 1
        seen[1] += f.size or 0
    out: dict[str, dict[str, Any]] = {}
    for info in manifest.datasets:
        row: dict[str, Any] = dict(_names(info))  # parameters first: the fields win a clash
        files, size = tally.get(info.name, [0, 0])
        row.update(name=info.name, kind=info.kind, sample=info.sample, technique=info.technique,
                   instrument=info.instrument, start=info.start, end=info.end,
                   files=float(files) if counts else None, size=float(size) if counts else None)
        out[info.name] = row
    return out


def select_datasets(manifest: Manifest, text: str) -> Manifest:
    """The manifest narrowed to the datasets ``text`` chooses, and their files."""
    if _DONE.get(id(manifest)) is manifest and _DONE_TEXT.get(id(manifest)) == text:
        return manifest
    if not manifest.datasets:
        who = manifest.dataset.doi or manifest.dataset.landing_url or "this dataset"
        raise UsageError(f"--dataset: {who} lists no datasets inside it (its repository does not say which files "
                         "form which dataset); use --include/--exclude")
    table = rows(manifest, counts=False)
    known = set(FIELDS).union(*(row.keys() for row in table.values()))
    try:
        where: Where = parse_where(text, known)
    except UsageError as exc:
        raise _error(exc) from None
    if where.names & {"files", "size"}:
        table = rows(manifest)
    chosen = {name for name, row in table.items() if where(row)}
    out = replace(manifest.with_files(f for f in manifest.files if f.dataset in chosen), datasets=tuple(d for d in manifest.datasets if d.name in chosen))
    key = id(out)
    _DONE[key] = out
    _DONE_TEXT[key] = text
    if len(_DONE_TEXT) > 4 * len(_DONE) + 64:  # forget the texts of manifests gone (a copy: gateway threads)
        for gone in [k for k in list(_DONE_TEXT) if k not in _DONE]:
            _DONE_TEXT.pop(gone, None)
    return out


def active() -> str | None:
    """The ``--dataset`` of the command running now (None: none given)."""
    return _ACTIVE.get()


@contextmanager
def dataset_selection(text: str | None) -> Iterator[None]:
    """Make ``text`` the selection every :func:`doi2data.select.select` applies while inside."""
    mark = _ACTIVE.set(check(text) if text else None)
    try:
        yield
    finally:
        _ACTIVE.reset(mark)


__all__ = ["FIELDS", "active", "check", "dataset_selection", "rows", "select_datasets"]
