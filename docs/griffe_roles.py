"""Griffe extension: Sphinx roles in docstrings become code spans for mkdocstrings.

Why: the package's docstrings cross-reference with reST roles (``:func:`resolve```,
``:class:`~doi2data.model.Manifest```), which Markdown would print literally. Turning them into
code spans keeps the text readable without asking every docstring to change syntax; links to
the documented objects come from the reference pages' own headings.
"""

from __future__ import annotations

from typing import Any

import griffe

_ROLES = ("func", "meth", "class", "mod", "data", "attr", "exc", "obj", "const", "rfc")


def _roles_to_code(text: str) -> str:
    """``:role:`~a.b.c``` -> ```c```, ``:role:`a.b``` -> ```a.b```. A linear scan, no regex."""
    out: list[str] = []
    i = 0
    while True:
        start = text.find(":", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        end = text.find(":`", start + 1)
        role = text[start + 1:end] if end > 0 else ""
        close = text.find("`", end + 2) if end > 0 else -1
        if role in _ROLES and close > 0:
            target = text[end + 2:close]
            if target.startswith("~"):
                target = target[1:].rsplit(".", 1)[-1]
            out.append(text[i:start])
            out.append(f"RFC {target}" if role == "rfc" else f"`{target}`")
            i = close + 1
        else:
            out.append(text[i:start + 1])
            i = start + 1


class SphinxRolesToCode(griffe.Extension):
    """Rewrite each loaded docstring once."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            # reST's "::" line before a literal block: the indented block is already code in Markdown
            text = "\n".join("" if line.strip() == "::" else line for line in obj.docstring.value.split("\n"))
            obj.docstring.value = _roles_to_code(text)
