"""Display hooks: how the core classes find their notebook and table renderings.

Why a registry: ``Manifest``, ``DownloadReport``, ``SubsetReport`` and ``FrameTable`` offer
``_repr_html_``/``to_pandas`` (and ``Manifest`` a bounded ``__repr__``), but the rendering code
(:mod:`doi2data.notebook`, :mod:`doi2data.tabular`) must name those classes. If the classes
imported the renderers, the two would import each other. Instead the renderers register
themselves here when imported (the package imports them), and the classes ask by name: every
arrow points from presentation to model, none back. This module imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_RENDERERS: dict[str, Callable[..., Any]] = {}


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``fn`` renders ``name`` (e.g. ``"manifest_html"``)."""
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        _RENDERERS[name] = fn
        return fn
    return add


def render(name: str, obj: Any, fallback: Callable[[], Any] | None = None) -> Any:
    """The registered rendering of ``obj``; ``fallback()`` (or a plain repr) when none is registered."""
    fn = _RENDERERS.get(name)
    if fn is not None:
        return fn(obj)
    if fallback is not None:
        return fallback()
    raise LookupError(f"no {name} renderer registered (import doi2data to load them)")


__all__ = ["register", "render"]
