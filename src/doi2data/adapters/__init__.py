"""The ordered registry of repository adapters.

Cheapest and most specific first; network-probing adapters (later) go last. Adapters are
imported lazily from dotted paths (fsspec's ``known_implementations``) so that a broken optional
adapter cannot break the others, and third-party adapters can register through the
``doi2data.adapters`` entry-point group.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from types import MappingProxyType

from ..errors import UnsupportedRepository
from .base import Adapter, RecordRef, Resolved

_KNOWN: dict[str, str] = {
    "invenio": "doi2data.adapters.invenio:ADAPTER",
    "dataverse": "doi2data.adapters.dataverse:ADAPTER",
    "figshare": "doi2data.adapters.figshare:ADAPTER",
    "dryad": "doi2data.adapters.dryad:ADAPTER",
    "osf": "doi2data.adapters.osf:ADAPTER",
    "b2share": "doi2data.adapters.b2share:ADAPTER",
    "mendeley": "doi2data.adapters.mendeley:ADAPTER",
    "pangaea": "doi2data.adapters.pangaea:ADAPTER",
    "psi": "doi2data.adapters.psi:ADAPTER",
    "esrf": "doi2data.adapters.esrf:ADAPTER",
    "desy": "doi2data.adapters.desy:ADAPTER",
    "scicat": "doi2data.adapters.scicat:ADAPTER",
    "webindex": "doi2data.adapters.webindex:ADAPTER",
}
#: Read-only view of the built-in adapters, in the order they are tried.
KNOWN_ADAPTERS = MappingProxyType(_KNOWN)
_loaded: dict[str, Adapter] = {}
log = logging.getLogger(__name__)


def register(name: str, target: str, *, clobber: bool = False) -> None:
    """Add an adapter (``"package.module:OBJECT"``); refuses to replace one silently."""
    if name in _KNOWN and not clobber:
        raise ValueError(f"adapter {name!r} is already registered")
    _KNOWN[name] = target
    _loaded.pop(name, None)


def load(name: str) -> Adapter:
    if name not in _loaded:
        module, _, attr = _KNOWN[name].partition(":")
        _loaded[name] = getattr(importlib.import_module(module), attr)
    return _loaded[name]


def _register_entry_points() -> None:
    for ep in entry_points(group="doi2data.adapters"):
        _KNOWN.setdefault(ep.name, ep.value)


def find_adapter(resolved: Resolved) -> tuple[Adapter, RecordRef]:
    """First adapter that recognises the landing page; ``UnsupportedRepository`` otherwise."""
    _register_entry_points()
    for name in list(_KNOWN):
        try:
            adapter = load(name)
            ref = adapter.recognize(resolved)
        except Exception as exc:  # noqa: BLE001 - recognize is pure; a bug in one must not break the rest
            log.warning("adapter %s skipped: %s: %s", name, type(exc).__name__, exc)
            continue
        if ref is not None:
            return adapter, ref
    tried = ", ".join(_KNOWN)
    raise UnsupportedRepository(
        f"no adapter supports {resolved.landing_url} (for {resolved.identifier}); tried: {tried}",
        identifier=resolved.identifier,
        url=resolved.landing_url,
    )


__all__ = ["KNOWN_ADAPTERS", "find_adapter", "load", "register"]
