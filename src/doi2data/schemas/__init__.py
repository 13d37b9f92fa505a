"""JSON Schemas of doi2data's machine-readable outputs, shipped with the package.

Why files, not code: consumers in any language validate against the same document the tests
validate every emulated repository's manifest against (``tests/test_manifest_schema.py``).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from ..model import MANIFEST_SCHEMA

#: ``doi2data-manifest/1`` -> ``manifest-1.schema.json``
_FILES = {MANIFEST_SCHEMA: "manifest-1.schema.json"}


def schema_text(name: str = MANIFEST_SCHEMA) -> str:
    """The JSON Schema (draft 2020-12) of the contract ``name``, as shipped."""
    try:
        filename = _FILES[name]
    except KeyError:
        raise KeyError(f"no schema {name!r}; known: {', '.join(_FILES)}") from None
    return files(__package__).joinpath(filename).read_text(encoding="utf-8")


def load_schema(name: str = MANIFEST_SCHEMA) -> dict[str, Any]:
    """:func:`schema_text`, parsed."""
    return json.loads(schema_text(name))


__all__ = ["load_schema", "schema_text"]
