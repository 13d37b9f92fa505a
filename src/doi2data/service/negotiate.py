"""Content negotiation for ``GET /{doi}``: one URL, the representation the client asks for.

Why server-side negotiation plus ``?format=``: API clients and tools send ``Accept`` (aria2 and
Rucio ask for Metalink, Signposting clients for linksets, browsers for HTML), while a link
pasted into a shell or a page needs to name its format explicitly.

=========================  =========================  ==========================================
``Accept``                 representation             ``?format=``
=========================  =========================  ==========================================
``application/json``       JSON manifest (default)    ``json``
``text/html``              HTML page                  ``html``
``application/metalink4+xml``  Metalink 4             ``metalink``
``application/linkset+json``   RFC 9264 linkset       ``linkset``
``application/linkset``    linkset, Link syntax       ``linkset-text``
(none)                     -                          ``csv``, ``ndjson``, ``urls``, ``aria2``, ``sha256sum``, ...
=========================  =========================  ==========================================

The highest ``q`` wins; ties go to the server's order above (so ``*/*`` and no ``Accept`` give
JSON); nothing acceptable is a 406.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..formats import FORMATS
from .problems import NotAcceptable

#: name -> media type, in the server's order of preference.
NEGOTIATED: dict[str, str] = {
    "json": "application/json",
    "html": "text/html",
    "metalink": "application/metalink4+xml",
    "linkset": "application/linkset+json",
    "linkset-text": "application/linkset",
}


@dataclass(frozen=True)
class Choice:
    name: str
    media_type: str
    negotiated: bool  # chosen from Accept (responses then need ``Vary: Accept``)


def _parse(accept: str) -> list[tuple[str, str, float]]:
    ranges = []
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        mtype, _, sub = parts[0].lower().partition("/")
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((mtype, sub or "*", q))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, str, float]]) -> float:
    """q of the most specific range matching ``media_type`` (0 when none does)."""
    mtype, _, sub = media_type.partition("/")
    best, specificity = 0.0, -1
    for rtype, rsub, q in ranges:
        if rtype == mtype and rsub == sub:
            level = 2
        elif rtype == mtype and rsub == "*":
            level = 1
        elif rtype == "*":
            level = 0
        else:
            continue
        if level > specificity:
            best, specificity = q, level
    return best


@lru_cache(maxsize=512)
def negotiate(accept: str | None) -> Choice:
    """Pick the representation for an ``Accept`` header (cached: browsers send a handful)."""
    if not accept or not accept.strip():
        return Choice("json", NEGOTIATED["json"], True)
    ranges = _parse(accept)
    scored = [(_quality(media, ranges), -i, name, media) for i, (name, media) in enumerate(NEGOTIATED.items())]
    q, _, name, media = max(scored)
    if q <= 0:
        offered = ", ".join(NEGOTIATED.values())
        raise NotAcceptable(f"cannot answer {accept!r}; available: {offered} (or ?format=)")
    return Choice(name, media, True)


def choose(accept: str | None, fmt: str | None) -> Choice:
    """``?format=`` wins over ``Accept``; unknown format names are a 400 (UsageError)."""
    if fmt:
        name = fmt.strip().lower()
        if name in NEGOTIATED:
            return Choice(name, NEGOTIATED[name], False)
        return Choice(FORMATS[name].name, FORMATS[name].media_type, False)  # raises UnknownFormat
    return negotiate(accept)


__all__ = ["NEGOTIATED", "Choice", "choose", "negotiate"]
