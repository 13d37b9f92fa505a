"""MkDocs hooks: reference documents generated from the code at build time.

Why a hook and not a plugin: two documents only, and both come from functions the package
already has - the gateway's OpenAPI 3.1 document (:func:`doi2data.service.openapi.document`,
the same one ``GET /openapi.json`` serves) and the manifest JSON Schema
(:func:`doi2data.schemas.schema_text`, the file shipped in the package). The hook publishes each
as a file of the site (``reference/openapi.json``, ``reference/manifest-1.schema.json``) and
renders the OpenAPI operations as Markdown into ``reference/gateway-api.md`` where that page
holds the marker below, so the page needs no JavaScript and cannot drift from the gateway.
The benchmarks page includes ``benchmarks/README.md`` (where the benchmark scripts' latest
tables are recorded) the same way, its headings nested under the page's, so the site always
shows the latest recorded run. A broken import fails the build (``mkdocs build --strict`` in CI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

OPENAPI_MARKER = "<!-- openapi:operations -->"
SCHEMA_MARKER = "<!-- schema:manifest-1 -->"
BENCHMARKS_MARKER = "<!-- include:benchmarks/README.md -->"


def _openapi() -> dict[str, Any]:
    from doi2data.service.openapi import document

    return document()


def on_files(files: Files, config: Any) -> Files:
    from doi2data.schemas import schema_text

    files.append(File.generated(config, "reference/openapi.json",
                                content=json.dumps(_openapi(), indent=2, ensure_ascii=False) + "\n"))
    files.append(File.generated(config, "reference/manifest-1.schema.json", content=schema_text()))
    return files


def _cell(text: Any) -> str:
    """One Markdown table cell: no newlines, no unescaped pipes."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    kind = str(schema.get("type", "any"))
    if "enum" in schema:
        kind += ": " + ", ".join(f"`{v}`" for v in schema["enum"])
    return kind


def render_operations(doc: dict[str, Any]) -> str:
    """The document's paths as Markdown: per operation its summary, description, parameters and responses."""
    out: list[str] = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in {"get", "head", "post", "put", "delete", "patch", "options"}:
                continue
            out.append(f"### `{method.upper()} {path}`\n")
            if op.get("summary"):
                out.append(f"**{op['summary'].strip()}**\n")
            if op.get("description"):
                out.append(op["description"].strip() + "\n")
            params = list(item.get("parameters", [])) + list(op.get("parameters", []))
            if params:
                out.append("| parameter | in | type | description |\n|---|---|---|---|")
                for p in params:
                    p = _resolve(doc, p)
                    name = f"`{p['name']}`" + (" (required)" if p.get("required") else "")
                    out.append(f"| {name} | {p.get('in', '')} | {_cell(_schema_type(p.get('schema', {})))} "
                               f"| {_cell(p.get('description'))} |")
                out.append("")
            responses = op.get("responses", {})
            if responses:
                out.append("| status | meaning | media types |\n|---|---|---|")
                for status, resp in responses.items():
                    resp = _resolve(doc, resp)
                    types = ", ".join(f"`{t}`" for t in resp.get("content", {}))
                    out.append(f"| {status} | {_cell(resp.get('description'))} | {types} |")
                out.append("")
    return "\n".join(out)


def _resolve(doc: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """Follow one local ``$ref`` (``#/components/...``)."""
    ref = obj.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return obj
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part]
    return target


def _indented_schema(marker_line: str) -> str:
    """The manifest schema as a JSON code block, indented like the marker (inside an admonition)."""
    from doi2data.schemas import schema_text

    indent = marker_line[: len(marker_line) - len(marker_line.lstrip())]
    block = ["```json", *schema_text().rstrip("\n").split("\n"), "```"]
    return "\n".join(indent + line if line else line for line in block)


def _benchmarks(config: Any) -> str:
    """benchmarks/README.md without its title, every heading one level deeper (under the page's ``##``)."""
    root = Path(config["config_file_path"]).parent
    lines = (root / "benchmarks" / "README.md").read_text(encoding="utf-8").split("\n")
    out: list[str] = []
    fenced = False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("# "):
            continue  # the file's title: the page has its own
        if not fenced and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if OPENAPI_MARKER in markdown:
        markdown = markdown.replace(OPENAPI_MARKER, render_operations(_openapi()))
    if BENCHMARKS_MARKER in markdown:
        markdown = markdown.replace(BENCHMARKS_MARKER, _benchmarks(config))
    if SCHEMA_MARKER in markdown:
        lines = markdown.split("\n")
        markdown = "\n".join(_indented_schema(line) if line.strip() == SCHEMA_MARKER else line for line in lines)
    return markdown
