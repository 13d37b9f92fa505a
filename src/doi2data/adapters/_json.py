"""Defensive readers for repository JSON, shared by every adapter.

Repository APIs drift (Zenodo's 2023 migration sent sizes as strings and dropped keys), so
adapters never index JSON directly: these helpers turn anything unexpected into ``None`` or an
empty value, and the adapter decides whether that is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def text(value: Any) -> str | None:
    """A stripped non-empty string (ints are accepted as their decimal form), else ``None``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The JSON objects of a list (other items dropped); empty for a non-list."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def size(value: Any) -> int | None:
    """A non-negative byte count; decimal strings (``"1024"``) are accepted, anything else is unknown."""
    value = int(value) if isinstance(value, str) and value.strip().isdecimal() else value
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def http_url(value: Any) -> str | None:
    """An absolute http(s) URL with a host (stripped), else ``None``: never hand httpx a link it
    cannot send."""
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        return value.strip() if parts and parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:
        return None


__all__ = ["http_url", "mapping", "mappings", "size", "text"]
