"""Checksums servers announce in response headers: RFC 3230 ``Digest`` and RFC 9530 ``Repr-Digest``.

Both describe the *whole* representation (not the bytes of a 206 part), so they can be checked
against the finished file whatever ranges were used. ``Content-Digest`` (RFC 9530) covers only
the bytes of this message and is therefore ignored here. dCache sends ``Digest: adler32=<hex>``
and ``md5=<base64>``; RFC 9530 uses structured-field byte sequences: ``sha-256=:<base64>:``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..entry import normalize_algorithm, normalize_digest


def _pairs(value: str) -> list[tuple[str, str]]:
    out = []
    for item in value.split(","):
        name, sep, digest = item.strip().partition("=")
        if sep and name.strip() and digest.strip():
            out.append((name.strip(), digest.strip()))
    return out


def header_digests(headers: Mapping[str, str]) -> dict[str, str]:
    """``{algorithm: hex}`` from ``Repr-Digest`` and ``Digest`` (unusable entries dropped)."""
    found: dict[str, str] = {}
    for name, raw in _pairs(headers.get("digest", "")):
        hex_digest = normalize_digest(name, raw)
        if hex_digest:
            found[normalize_algorithm(name)] = hex_digest
    for name, raw in _pairs(headers.get("repr-digest", "")):
        raw = raw.split(";", 1)[0].strip()  # drop structured-field parameters
        if raw.startswith(":") and raw.endswith(":") and len(raw) >= 2:
            hex_digest = normalize_digest(name, raw[1:-1])
            if hex_digest:
                found[normalize_algorithm(name)] = hex_digest
    return found


__all__ = ["header_digests"]
