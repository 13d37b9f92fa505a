"""Byte sizes for people: ``human_size`` to show one, ``parse_size`` to read one from an option.

Their own module (they were in :mod:`.output`) so that :mod:`.select`, :mod:`.notebook` and the
commands can use them without importing the terminal output, which imports them back.
"""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``; ``None`` -> ``?``."""
    if size is None:
        return "?"
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
               "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_size(text: str) -> int:
    """``"8MiB"`` -> 8388608, ``"50GB"`` -> 50000000000, ``"1024"`` -> 1024."""
    import re

    from .errors import UsageError

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text or "")
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise UsageError(f"bad size {text!r}: use e.g. 500MB, 8MiB, 2GB")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


__all__ = ["human_size", "parse_size"]
