"""Shared helpers for adapters that know the datasets inside a DOI (:class:`~doi2data.model.DatasetInfo`).

Why one place: ICAT+, SciCat and PSI name the same things differently (``acquisition`` /
``raw``, ``processed`` / ``derived``; values as text ``"0.9677"`` or numbers; ``units`` or
``unit``), and ``--dataset`` compares them as one model. Every value is bounded here: a
repository's metadata is hostile input like any other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import DatasetKind, Parameter

MAX_PARAMETERS = 200     # per dataset; more are dropped (a listing is not a metadata dump)
MAX_TEXT = 200           # characters of a name, unit or text value
_RAW = {"raw", "acquisition", "measurement", "experiment"}
_PROCESSED = {"processed", "derived", "analysed", "analyzed", "reduced", "processing", "result"}


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A short, printable, stripped string, or None (numbers as text; anything else dropped)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = "".join(c if c.isprintable() else " " for c in value[: limit * 2]).strip()
    return value[:limit] or None


def kind_of(value: Any) -> DatasetKind:
    """``acquisition``/``raw`` -> raw, ``processed``/``derived`` -> processed, anything else -> other."""
    word = (text(value) or "").lower()
    return "raw" if word in _RAW else "processed" if word in _PROCESSED else "other"


def number_or_text(value: Any) -> float | str | None:
    """``"0.9677"`` -> 0.9677 (finite numbers only), other text kept (bounded), the rest None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    shown = text(value)
    if shown is None:
        return None
    try:
        number = float(shown) if len(shown) <= 40 else math.nan
    except ValueError:
        return shown
    return number if math.isfinite(number) else shown


def parameter(name: Any, value: Any, unit: Any = None) -> Parameter | None:
    """One ``(name, value, unit)``; None when the name or value is unusable."""
    key, found = text(name), number_or_text(value)
    if key is None or found is None:
        return None
    return (key, found, text(unit) if isinstance(unit, str) else None)  # a unit is text, never a number


def parameters(items: Iterable[Parameter | None], skip: Iterable[str] = ()) -> tuple[Parameter, ...]:
    """The usable parameters, first of each name, at most :data:`MAX_PARAMETERS`."""
    out: dict[str, Parameter] = {}
    hidden = set(skip)
    for item in items:
        if item is not None and item[0] not in out and item[0] not in hidden:
            out[item[0]] = item
            if len(out) >= MAX_PARAMETERS:
                break
    return tuple(out.values())


def from_mapping(doc: Any) -> tuple[Parameter, ...]:
    """SciCat's ``scientificMetadata``: ``{name: {value, unit}}`` or ``{name: value}``, one level."""
    if not isinstance(doc, Mapping):
        return ()
    found = []
    for i, (name, raw) in enumerate(doc.items()):
        if i >= 4 * MAX_PARAMETERS:
            break
        if isinstance(raw, Mapping):
            found.append(parameter(name, raw.get("value"), raw.get("unit", raw.get("units"))))
        else:
            found.append(parameter(name, raw))
    return parameters(found)


__all__ = ["MAX_PARAMETERS", "from_mapping", "kind_of", "number_or_text", "parameter", "parameters", "text"]
