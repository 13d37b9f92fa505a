"""The documentation site and the README front page (issue 17 item 1).

The README is the front page: at most 10,000 bytes, its first code block the two commands CI and
users run, and every relative link it has points at a file that exists (most lead into docs/).
The site itself must build with ``mkdocs build --strict`` (a broken link, a page missing from the
nav, an unresolved reference or a failing hook fails it); skipped when MkDocs is not installed
(``pip install '.[docs]'``; CI installs it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TWO_COMMANDS = [
    "python -m pip install . && doi2data demo",
    "python -m pip install '.[test]' && python -m pytest",
]


def _code_blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_readme_is_a_front_page_of_at_most_10000_bytes() -> None:
    size = len(README.read_bytes())
    assert size <= 10_000, f"README.md is {size} bytes; move detail into docs/ (the front page stays <= 10,000)"


def test_readme_first_code_block_is_the_two_commands() -> None:
    blocks = _code_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no code block"
    assert blocks[0] == TWO_COMMANDS


def test_readme_relative_links_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [t.split("#", 1)[0] for t in targets if not t.startswith(("http://", "https://", "#", "mailto:"))]
    missing = [t for t in relative if t and not (ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def _hooks():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("doi2data_docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed (pip install '.[docs]')")
def test_openapi_rendering_names_every_operation_and_parameter() -> None:
    from doi2data.service.openapi import document

    doc = document()
    rendered = _hooks().render_operations(doc)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert f"`{method.upper()} {path}`" in rendered
            for param in op.get("parameters", []):
                if "name" in param:
                    assert f"`{param['name']}`" in rendered, (path, param["name"])
    # a table cell never breaks the table: no raw newline or pipe inside a row
    for line in rendered.split("\n"):
        if line.startswith("| `"):
            assert line.count(" | ") >= 3


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed (pip install '.[docs]')")
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # generated at build time from the code, not copied: the gateway's OpenAPI and the manifest schema
    from doi2data.schemas import load_schema
    from doi2data.service.openapi import document

    assert json.loads((site / "reference" / "openapi.json").read_text(encoding="utf-8")) == document()
    assert json.loads((site / "reference" / "manifest-1.schema.json").read_text(encoding="utf-8")) == load_schema()
    cli_page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("ls", "get", "verify", "search", "serve", "transfer", "doctor"):
        assert f"doi2data {command}" in cli_page, command
