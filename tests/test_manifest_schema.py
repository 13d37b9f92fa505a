"""The manifest contract (``ls --json``, gateway JSON) against its shipped JSON Schema.

Every DOI and handle of the default sandbox world is resolved and its manifest validated twice:
against the schema as shipped (unknown keys allowed, for consumers of later 1.x output), and
against a strict copy that refuses undeclared keys, so a field the code emits but the schema
does not describe fails here. Conversely, dropping any declared field from the schema must make
the corpus fail: every field the schema names is really emitted by some repository.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")

from doi2data import api
from doi2data.errors import Doi2DataError
from doi2data.model import MANIFEST_SCHEMA, Dataset, FileEntry, Manifest
from doi2data.sandbox import FakeInternet
from doi2data.schemas import load_schema

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "src/doi2data/schemas/manifest-1.schema.json"
#: Identifiers of the default world that have no manifest by design: a repository doi2data does not
#: support, B2SHARE's per-file ePIC handles (they land on a bare file URL), and DESY's dCache door
#: that answers only with a quirk set by its own tests.
NO_MANIFEST = ("10.99999/unsupported.1", "10.3204/desy-pd-2024-00017", "hdl:11304/")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy in which every object that lists its ``properties`` refuses any other key."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"[:300] for e in validator.iter_errors(document)]


def identifier(pid: Any) -> str:
    return pid.handle if pid.is_doi else f"hdl:{pid.handle}"


@pytest.fixture(scope="module")
def corpus(internet: FakeInternet) -> Iterator[dict[str, dict[str, Any]]]:
    """``{identifier: manifest JSON}`` for every identifier of the default world that has one."""

    async def resolve_all(idents: list[str]) -> list[tuple[str, Any]]:
        gate = asyncio.Semaphore(8)

        async def one(ident: str) -> tuple[str, Any]:
            async with gate:
                try:
                    return ident, (await api.aresolve(ident)).to_json()
                except Doi2DataError as exc:
                    return ident, exc

        return await asyncio.gather(*(one(i) for i in idents))

    internet.clear_quirks()
    idents = sorted(identifier(p) for p in internet.world.pids())
    with internet.activated():
        results = asyncio.run(resolve_all(idents))
    failed = {i: f"{type(r).__name__}: {r}"[:200] for i, r in results if isinstance(r, Exception)}
    unexpected = {i: why for i, why in failed.items() if not i.startswith(NO_MANIFEST)}
    assert not unexpected, unexpected
    docs = {i: r for i, r in results if not isinstance(r, Exception)}
    # the optional fields no emulated repository happens to produce, through the same to_json
    docs["(model) malformed checksum"] = Manifest(
        Dataset("10.1234/bad", title="t", note="restricted in part", access="restricted"),
        (FileEntry("a.bin", 3, {"md5": "1234", "sha256": "ab" * 32}, ("https://h.example/a.bin",),
                   note="from the repository's second listing"),),
        ("one warning",)).to_json()
    yield docs


def test_schema_is_draft_2020_12_and_shipped() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"] == {"const": MANIFEST_SCHEMA, "description": schema["properties"]["schema"]
                                              ["description"]}
    assert json.loads(SCHEMA_FILE.read_text()) == schema  # the package reads the file in the tree
    assert "schemas/*.schema.json" in (REPO / "pyproject.toml").read_text()  # and ships it (package-data)


def test_every_emulated_repository_manifest_validates(corpus: dict[str, dict[str, Any]]) -> None:
    shipped, closed = load_schema(), strict(load_schema())
    assert len(corpus) >= 60, sorted(corpus)
    repositories = {doc["repository"] for doc in corpus.values()}
    assert len(repositories) >= 15, repositories  # Zenodo, Dataverse, Figshare, ... PSI, ESRF, SciCat, ...
    access = {f["access"] for doc in corpus.values() for f in doc["files"]}
    assert access == {"open", "restricted", "embargoed", "offline", "external"}, access
    for ident, doc in corpus.items():
        assert doc["schema"] == MANIFEST_SCHEMA, ident
        assert doc["file_count"] == len(doc["files"]), ident
        assert not errors(shipped, doc), (ident, errors(shipped, doc)[:5])
        assert not errors(closed, doc), (ident, errors(closed, doc)[:5])  # no field the schema does not declare


def _declared(schema: dict[str, Any]) -> list[tuple[str, ...]]:
    """Paths (inside the schema) of every declared property: ``("properties", "doi")``, ..."""
    found: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    found.extend((*path, key, name) for name in value)
                walk(value, (*path, key))

    walk(schema, ())
    return found


def test_dropping_any_field_from_the_schema_fails(corpus: dict[str, dict[str, Any]]) -> None:
    """Each declared field is emitted somewhere: a schema that forgot one would not describe the output."""
    closed = strict(load_schema())
    declared = _declared(closed)
    assert len(declared) >= 47  # 11 manifest, 15 dataset, 10 file, 8 dataset-info, 3 parameter fields
    documents = list(corpus.values())
    for path in declared:
        smaller = copy.deepcopy(closed)
        node = smaller
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        validator = jsonschema.Draft202012Validator(smaller)
        assert any(not validator.is_valid(doc) for doc in documents), f"no manifest emits {'/'.join(path)}"


def test_a_manifest_without_a_required_field_is_invalid(corpus: dict[str, dict[str, Any]]) -> None:
    shipped = load_schema()
    doc = corpus["10.5281/zenodo.1215979"]
    for key in shipped["required"]:
        broken = {k: v for k, v in doc.items() if k != key}
        assert errors(shipped, broken), key
    file = {k: v for k, v in doc["files"][0].items() if k != "checksums"}
    assert errors(shipped, {**doc, "files": [file]})
    assert errors(shipped, {**doc, "schema": "doi2data-manifest/2"})
    assert errors(shipped, {**doc, "files": [{**doc["files"][0], "access": "public"}]})
    assert not errors(shipped, {**doc, "added_in_1_1": True})  # growth within version 1 stays valid


def test_ls_json_names_its_schema(cli: Any) -> None:
    run = cli("ls", "--json", "10.5281/zenodo.3459420")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert next(iter(doc)) == "schema" and doc["schema"] == MANIFEST_SCHEMA
    assert not errors(strict(load_schema()), doc)


def test_gateway_json_validates(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    pytest.importorskip("jinja2")
    import httpx
    from test_service_gateway import start

    server = start(internet, tmp_path)
    try:
        r = httpx.get(f"{server.url}/10.5281/zenodo.1215979", headers={"Accept": "application/json"},
                      trust_env=False, timeout=30)
        filtered = httpx.get(f"{server.url}/10.5281/zenodo.1215979?file=images/*", trust_env=False, timeout=30)
    finally:
        server.stop()
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    for doc in (r.json(), filtered.json()):
        assert doc["schema"] == MANIFEST_SCHEMA
        assert not errors(strict(load_schema()), doc), errors(strict(load_schema()), doc)[:5]
    assert filtered.json()["file_count"] == 3


def test_cached_rows_of_an_older_contract_are_resolved_again() -> None:
    """A gateway upgraded over its old cache must not serve JSON that names no schema."""
    from doi2data.identifiers import parse_identifier
    from doi2data.service.cache import MemoryStore
    from doi2data.service.manifests import ManifestService

    manifest = Manifest(Dataset("10.1234/old", title="old"), (FileEntry("a", 1, {}, ("https://h.example/a",)),))
    old_row = {k: v for k, v in manifest.to_json().items() if k != "schema"}
    calls: list[str] = []

    async def resolve(ident: Any) -> Manifest:
        calls.append(ident.value)
        return manifest

    async def go() -> None:
        store = MemoryStore()
        await store.put("doi:10.1234/old", json.dumps(old_row).encode(), 1000.0)
        service = ManifestService(store, resolve, ttl=3600, stale=0, clock=lambda: 1001.0)
        entry, state = await service.get(parse_identifier("10.1234/old"))
        assert state == "miss" and calls == ["10.1234/old"]
        assert json.loads(entry.body)["schema"] == MANIFEST_SCHEMA
        assert json.loads((await store.get("doi:10.1234/old"))[0])["schema"] == MANIFEST_SCHEMA  # row rewritten
        fresh = ManifestService(store, resolve, ttl=3600, stale=0, clock=lambda: 1002.0)
        assert (await fresh.get(parse_identifier("10.1234/old")))[1] == "hit"  # a current row is served

    asyncio.run(go())


def test_gateway_openapi_describes_the_same_contract(corpus: dict[str, dict[str, Any]]) -> None:
    """The OpenAPI document's ``Manifest`` is the shipped schema, not a second copy that can drift."""
    from doi2data.service.openapi import document

    components = document()["components"]
    assert components["schemas"]["Manifest"]["properties"]["schema"]["const"] == MANIFEST_SCHEMA
    as_openapi = strict({"$ref": "#/components/schemas/Manifest", "components": components})
    shipped = strict(load_schema())
    for ident, doc in corpus.items():
        assert not errors(as_openapi, doc), (ident, errors(as_openapi, doc)[:5])
    broken = {**corpus["10.5281/zenodo.1215979"], "files": [{"path": 1}]}
    assert errors(as_openapi, broken) and errors(shipped, broken)
