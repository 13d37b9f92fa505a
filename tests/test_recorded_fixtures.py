"""Parsers against real recorded responses in the shared folder (read in place, never copied here).

The folder is ``$DOI2DATA_SHARED`` or ``<repo root>/../shared``; without it these tests skip. Each
expectation is recomputed from the raw JSON independently of the parser, so a parser bug cannot
hide behind its own output.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from doi2data.adapters.base import Resolved
from doi2data.adapters.invenio import ADAPTER, parse_record
from doi2data.datacite import datacite_client_id, parse_datacite
from doi2data.errors import RepositoryError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DOI2DATA_SHARED") or REPO_ROOT.parent / "shared")
RECORDED = SHARED / "fixtures" / "recorded"


def _bodies(folder: str, pattern: str) -> list[Path]:
    found = sorted((RECORDED / folder).glob(pattern)) if (RECORDED / folder).is_dir() else []
    return [p for p in found if not p.name.endswith(".headers.json")]


ZENODO = _bodies("zenodo", "record-*.json")
DATACITE = _bodies("datacite", "dois-*.json")
needs_shared = pytest.mark.skipif(not ZENODO and not DATACITE, reason=f"shared fixtures not found at {RECORDED}")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _raw_files(doc: dict[str, Any]) -> list[dict[str, Any]]:
    files = doc.get("entries") if "entries" in doc else doc.get("files")
    return list(files.values()) if isinstance(files, dict) else list(files or [])


@needs_shared
def test_fixture_folders_present() -> None:
    assert len(ZENODO) >= 10 and len(DATACITE) >= 15


@needs_shared
@pytest.mark.parametrize("path", ZENODO, ids=_ids(ZENODO))
def test_zenodo_record_files_and_md5s(path: Path) -> None:
    raw = _load(path)
    manifest = parse_record(raw, "https://zenodo.org")
    expected = {}
    for entry in _raw_files(raw):
        checksum = entry["checksum"]
        expected[entry.get("key") or entry["filename"]] = (entry.get("size", entry.get("filesize")),
                                                            checksum.split(":", 1)[1] if ":" in checksum else checksum)
    got = {f.path: (f.size, f.checksums.get("md5")) for f in manifest.files}
    assert len(manifest.files) == len(_raw_files(raw)) == len(expected)
    assert got == expected
    for f in manifest.files:  # every file is downloadable by a valid URL that decodes back to its key
        assert f.urls and f.access == "open"
        for url in f.urls:
            assert not re.search(r"[^A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]", url), url
            path_part = unquote(urlsplit(url).path)
            assert path_part.endswith(f"/{f.path}") or path_part.endswith(f"/{f.path}/content"), url


@needs_shared
@pytest.mark.parametrize("path", [p for p in ZENODO if "files-endpoint" not in p.name],
                         ids=_ids([p for p in ZENODO if "files-endpoint" not in p.name]))
def test_zenodo_record_dataset(path: Path) -> None:
    raw = _load(path)
    ds = parse_record(raw, "https://zenodo.org").dataset
    meta = raw["metadata"]
    assert ds.record_id == str(raw["id"]) and ds.doi == raw["doi"] == ds.version_doi
    assert ds.concept_doi == raw["conceptdoi"] and ds.title == meta["title"]
    assert ds.year == int(meta["publication_date"][:4])
    assert ds.license == meta["license"]["id"] and ds.publisher == "Zenodo" == ds.repository
    assert len(ds.creators) == len(meta["creators"])
    assert ds.landing_url == raw["links"].get("self_html", raw["links"].get("html"))
    assert ds.access == "open" == meta["access_right"]


@needs_shared
def test_files_endpoint_record_id_from_links() -> None:
    path = next(p for p in ZENODO if "files-endpoint" in p.name)
    manifest = parse_record(_load(path), "https://zenodo.org")
    assert manifest.dataset.record_id == "4924875"
    assert {f.path for f in manifest.files} == {"store.zip", "tiny-data.txt"}


def _title(attrs: dict[str, Any]) -> str:
    titles = attrs["titles"]
    chosen = next((t for t in titles if not t.get("titleType")), titles[0])
    return " ".join(chosen["title"].split())


@needs_shared
@pytest.mark.parametrize("path", DATACITE, ids=_ids(DATACITE))
def test_datacite_record(path: Path) -> None:
    raw = _load(path)
    if not isinstance(raw.get("data"), dict):  # the 404 error body and the list page are not records
        with pytest.raises(RepositoryError):
            parse_datacite(raw)
        return
    attrs = raw["data"]["attributes"]
    ds = parse_datacite(raw)
    publisher = attrs["publisher"]["name"] if isinstance(attrs["publisher"], dict) else attrs["publisher"]
    assert ds.doi == attrs["doi"] and ds.title == _title(attrs)
    assert ds.publisher == publisher and ds.year == int(attrs["publicationYear"])
    assert ds.landing_url == attrs["url"] and len(ds.creators) == len(attrs["creators"])
    client = raw["data"]["relationships"]["client"]["data"]["id"]
    assert datacite_client_id(raw) == client
    names = {i["id"]: i["attributes"]["name"] for i in raw.get("included", []) if i["type"] == "clients"}
    assert ds.repository == names.get(client)
    assert ds.license is None or not ds.license.startswith("info:eu-repo")


@needs_shared
@pytest.mark.parametrize("path", DATACITE, ids=_ids(DATACITE))
def test_recognize_recorded_landing_urls(path: Path) -> None:
    """Zenodo DOIs' landing URLs are ours; nobody else's (figshare, Dataverse, Dryad...) is."""
    raw = _load(path)
    if not isinstance(raw.get("data"), dict):
        pytest.skip("not a single DOI record")
    attrs = raw["data"]["attributes"]
    ref = ADAPTER.recognize(Resolved(attrs["doi"], None, attrs["url"], None))
    if datacite_client_id(raw) == "cern.zenodo":
        assert ref is not None and ref.api_base == "https://zenodo.org"
        assert attrs["doi"].endswith(f"zenodo.{ref.record_id}")
    else:
        assert ref is None


@needs_shared
def test_recognize_recorded_redirect_locations() -> None:
    sidecars = sorted((RECORDED / "doi.org").glob("redirect-*zenodo*.headers.json"))
    sidecars += sorted((RECORDED / "zenodo").glob("redirect-*.headers.json"))
    assert sidecars
    for sidecar in sidecars:
        headers = {k.lower(): v for k, v in _load(sidecar)["headers"].items()}
        location = headers["location"][0]
        ref = ADAPTER.recognize(Resolved(location, None, location, None))
        assert ref is not None and ref.repository == "Zenodo", sidecar.name
        assert location.rstrip("/").endswith(ref.record_id)
