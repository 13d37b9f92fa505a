"""``doi2data export``: BagIt bags validated by ``bagit``, RO-Crates read back by ``rocrate``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

import doi2data
from doi2data.errors import DownloadIncomplete
from doi2data.export import write_bag, write_ro_crate
from doi2data.sandbox import FakeInternet, Quirk
from conftest import run_here  # noqa: E402

bagit = pytest.importorskip("bagit")
rocrate = pytest.importorskip("rocrate.rocrate")

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"


def payload(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_complete_bag_is_valid_and_carries_repository_and_local_checksums(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                                                          tmp_path: Path) -> None:
    run = cli("export", DOI, "--bagit", "bag")
    assert run.code == 0, run.err
    assert "bag written to bag: 8 file(s)" in run.err and "sha256, md5" in run.err
    root = tmp_path / "bag"
    bag = bagit.Bag(str(root))
    bag.validate()  # structure, Payload-Oxum, completeness and every digest of every manifest
    assert set(bag.algorithms) == {"md5", "sha256"} and bag.is_valid()
    assert bag.info["External-Identifier"] == f"https://doi.org/{DOI}"
    assert bag.info["Source-Organization"] == "Zenodo" and "Sandbox diffraction" in bag.info["External-Description"]
    files = payload(root / "data")
    assert ".doi2data" not in {Path(p).parts[0] for p in files}  # the engine's state is not payload
    for path, data in files.items():
        assert data == net.world.file_bytes(RECID, path)
        assert bag.entries[f"data/{path}"]["md5"] == net.world.checksum(RECID, path)
    assert not (root / "fetch.txt").exists()
    (root / "data/README.json").write_bytes(b"{}")  # and the validator does notice damage
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(root)).validate()


def test_holey_bag_lists_every_url_and_becomes_valid_once_fetched(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                                                 tmp_path: Path) -> None:
    run = cli("export", DOI, "--bagit", "holey", "--holey", "--exclude", "images")
    assert run.code == 0, run.err
    root = tmp_path / "holey"
    assert not [p for p in (root / "data").rglob("*") if p.is_file()]  # nothing downloaded
    bag = bagit.Bag(str(root))
    bag.validate_fetch()
    entries = list(bag.fetch_entries())
    assert sorted(name for _, _, name in entries) == sorted(bag.payload_entries())
    assert bag.algorithms == ["md5"] and bag.info["Payload-Oxum"].endswith(".5")
    with httpx.Client() as client:  # fill the holes as a fetch.txt-aware tool would
        for url, size, name in entries:
            body = client.get(url).raise_for_status().content
            assert len(body) == int(size)
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
    bagit.Bag(str(root)).validate()


def test_hostile_and_restricted_records(net: FakeInternet, tmp_path: Path) -> None:
    result = write_bag(doi2data.resolve("10.5281/zenodo.7000001"), tmp_path / "hostile")
    bagit.Bag(str(tmp_path / "hostile")).validate()
    assert set(result.skipped) == {"../escape.txt", "sub/../../evil.txt"}
    assert any("refused" in m for m in result.messages)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "evil.txt").exists()
    result = write_bag(doi2data.resolve("10.5281/zenodo.7000002"), tmp_path / "restricted")
    assert result.files == () and result.skipped == ("secret.h5",)
    bagit.Bag(str(tmp_path / "restricted")).validate()  # an empty bag, but a valid one


def test_rerun_resumes_and_moves_no_verified_byte(net: FakeInternet, tmp_path: Path) -> None:
    manifest = doi2data.resolve(DOI, include="*.json")
    write_bag(manifest, tmp_path / "b")
    net.clear_log()
    write_bag(manifest, tmp_path / "b")
    assert [r for r in net.log if "/content" in r.path] == []
    bagit.Bag(str(tmp_path / "b")).validate()


def test_failed_download_writes_no_bag(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0001.cbf*", kind="corrupt", offset=10))
    with pytest.raises(DownloadIncomplete) as info:
        write_bag(doi2data.resolve(DOI), tmp_path / "bad")
    assert "images/frame_0001.cbf" in info.value.failures
    assert not (tmp_path / "bad/bagit.txt").exists()


def test_ro_crate_describes_dataset_and_local_files(net: FakeInternet, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "crate"
    code, _, err = run_here(capsys, "export", DOI, "--ro-crate", str(root), "--quiet")
    assert code == 0, err
    assert "RO-Crate written to" in err
    crate = rocrate.ROCrate(str(root))
    ds = crate.root_dataset
    assert ds["name"] == "Sandbox diffraction images (doi2data demo)" and ds["identifier"] == f"https://doi.org/{DOI}"
    assert ds["datePublished"] == "2018" and ds["version"] == "1.1"
    assert ds["license"].id == "https://spdx.org/licenses/CC-BY-4.0"
    assert [a["name"] for a in ds["author"]] == ["Keller, Anna", "Okafor, Chidi", "Lindqvist, Sofia"]
    assert ds["publisher"]["name"] == "Zenodo"
    files = {e.id: e for e in crate.data_entities}
    assert len(files) == 8 and {p["@id"] for p in ds._jsonld["hasPart"]} == set(files)
    assert "notes/run%20log.txt" in files and "donn%C3%A9es/%C3%A9t%C3%A9.csv" in files
    for ident, entity in files.items():
        assert entity.type == "File"
        local = root / httpx.URL("x:/" + ident).path.lstrip("/")
        data = local.read_bytes()
        assert entity["sha256"] == hashlib.sha256(data).hexdigest() and int(entity["contentSize"]) == len(data)
        assert entity["contentUrl"].startswith("https://zenodo.org/api/records/1215979/files/")
    assert not (root / ".doi2data").exists()


def test_holey_ro_crate_names_files_by_url(net: FakeInternet, tmp_path: Path) -> None:
    manifest = doi2data.resolve(DOI)
    write_ro_crate(manifest, tmp_path / "c", holey=True)
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["ro-crate-metadata.json"]
    crate = rocrate.ROCrate(str(tmp_path / "c"))
    ids = {e.id for e in crate.data_entities}
    assert ids == {f.url for f in manifest.files}
    doc = json.loads((tmp_path / "c/ro-crate-metadata.json").read_text())
    assert doc["@context"] == "https://w3id.org/ro/crate/1.1/context"
    readme = next(e for e in doc["@graph"] if e["@id"].endswith("/README.json/content"))
    assert readme["contentSize"] == str(len(net.world.file_bytes(RECID, "README.json")))
    assert readme["alternateName"] == "README.json" and readme["contentUrl"] == readme["@id"]


def test_bag_and_crate_in_one_run_and_usage_errors(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    run = cli("export", DOI, "--bagit", "b", "--ro-crate", "c", "--include", "*.csv")
    assert run.code == 0, run.err
    bagit.Bag(str(tmp_path / "b")).validate()
    assert (tmp_path / "c/données/été.csv").is_file() and (tmp_path / "c/ro-crate-metadata.json").is_file()
    assert run_here(capsys, "export", DOI)[0] == 2
