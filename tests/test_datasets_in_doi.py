"""Datasets inside a DOI (issue 14 item 3): the manifest's ``datasets``, files naming theirs,
``ls`` groups, ``--dataset EXPR`` on the commands and the API, and ``?datasets=`` on the gateway.

The ESRF session DOI of the sandbox has three ICAT+ datasets (two raw, one processed; energies in
keV, temperatures in K), the seed collection one MX dataset with a wavelength in Angstrom.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import doi2data
from doi2data.datasets_select import dataset_selection, rows, select_datasets
from doi2data.errors import UsageError
from doi2data.model import Dataset, DatasetInfo, FileEntry, Manifest
from doi2data.output import dataset_groups
from doi2data.sandbox import FakeInternet
from doi2data.sandbox import facilities as fac
from doi2data.select import select
from conftest import run_here  # noqa: E402


def _manifest() -> Manifest:
    infos = (DatasetInfo("lyso_01", "raw", "lysozyme", "MX", "X06SA", "2025-01-01T10:00:00", None,
                         (("wavelength", 0.98, "Angstrom"), ("Beam energy", 12.6, "keV"))),
             DatasetInfo("lyso_01_proc", "processed", "lysozyme", "MX", "X06SA", parameters=(("wavelength", 0.98, "A"),)),
             DatasetInfo("thau_02", "raw", "thaumatin", "MX", "X06SA", parameters=(("wavelength", 1.2, "A"),)))
    files = [FileEntry("lyso_01/a.cbf", 10, dataset="lyso_01"), FileEntry("lyso_01/b.cbf", 20, dataset="lyso_01"),
             FileEntry("proc/lyso.mtz", 5, dataset="lyso_01_proc"), FileEntry("thau/t.cbf", 7, dataset="thau_02"),
             FileEntry("README", 1)]
    return Manifest(Dataset("10.1/x"), tuple(files), datasets=infos)


# -- the model and the selection --------------------------------------------------------------------

def test_json_contract_grows_backwards_compatibly() -> None:
    doc = _manifest().to_json()
    assert [d["name"] for d in doc["datasets"]] == ["lyso_01", "lyso_01_proc", "thau_02"]
    assert doc["datasets"][0]["parameters"][0] == {"name": "wavelength", "value": 0.98, "unit": "Angstrom"}
    assert doc["files"][0]["dataset"] == "lyso_01" and "dataset" not in doc["files"][-1]
    plain = Manifest(Dataset("10.1/y"), (FileEntry("a"),)).to_json()
    assert plain["datasets"] == [] and "dataset" not in plain["files"][0]
    assert DatasetInfo.from_json(doc["datasets"][0]) == _manifest().datasets[0]


@pytest.mark.parametrize(("expr", "names"), [
    ("kind == 'processed' and sample like 'lyso*'", ["lyso_01_proc"]),
    ("kind == 'raw'", ["lyso_01", "thau_02"]),
    ("wavelength < 1.0", ["lyso_01", "lyso_01_proc"]),
    ("wavelength >= 1.0 or name == 'lyso_01'", ["lyso_01", "thau_02"]),
    ("Beam_energy > 12", ["lyso_01"]),           # a parameter name with a space, reached with '_'
    ("files >= 2", ["lyso_01"]),
    ("start >= '2025'", ["lyso_01"]),             # a missing value compares false
    ("not kind in ('raw')", ["lyso_01_proc"]),
])
def test_dataset_expressions_choose_datasets_and_their_files(expr: str, names: list[str]) -> None:
    chosen = select_datasets(_manifest(), expr)
    assert [d.name for d in chosen.datasets] == names
    assert {f.dataset for f in chosen.files} == set(names)  # files of no dataset are dropped
    assert select_datasets(chosen, expr) is chosen          # applying it again is a no-op


def test_dataset_errors_are_one_line_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"--dataset: unknown name 'wavelenght'; known: .*wavelength"):
        select_datasets(_manifest(), "wavelenght < 1")
    with pytest.raises(UsageError, match="--dataset: expected"):
        select_datasets(_manifest(), "kind == ")
    with pytest.raises(UsageError, match="lists no datasets inside it"):
        select_datasets(Manifest(Dataset("10.1/y"), (FileEntry("a"),)), "kind == 'raw'")
    with pytest.raises(UsageError, match="longer than"):
        select_datasets(_manifest(), "x" * 5000)


def test_select_takes_dataset_and_the_commands_context() -> None:
    m = _manifest()
    both = select(m, include="*.cbf", dataset="sample == 'lysozyme'")
    assert [f.path for f in both.files] == ["lyso_01/a.cbf", "lyso_01/b.cbf"]
    with dataset_selection("kind == 'processed'"):
        assert [f.path for f in select(m).files] == ["proc/lyso.mtz"]
    assert len(select(m).files) == 5  # outside the command: nothing chosen
    with pytest.raises(UsageError, match="--dataset"), dataset_selection("kind =="):
        pass


def test_rows_and_groups() -> None:
    table = rows(_manifest())
    assert table["lyso_01"]["files"] == 2 and table["lyso_01"]["size"] == 30 and table["lyso_01"]["Beam energy"] == 12.6
    groups = dataset_groups(_manifest())
    assert [h.split(":")[0] for h, _ in groups] == [
        "dataset lyso_01 [raw] sample lysozyme, technique MX, instrument X06SA",
        "dataset lyso_01_proc [processed] sample lysozyme, technique MX, instrument X06SA",
        "dataset thau_02 [raw] sample thaumatin, technique MX, instrument X06SA", "(no dataset)"]
    assert groups[0][0].endswith("2 file(s), 30 B")
    assert dataset_groups(Manifest(Dataset("10.1/y"), (FileEntry("a"),)))[0][0] is None


# -- ESRF ICAT+ through the sandbox -------------------------------------------------------------------

def test_esrf_manifest_carries_icat_datasets(net: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.ESRF_SESSION_DOI)
    kinds = [(d.name, d.kind, d.sample) for d in manifest.datasets]
    assert len(kinds) == 3 and kinds[1] == ("sampleA_0002", "processed", "sampleA_heated")
    assert [k for _, k, _ in kinds] == ["raw", "processed", "raw"]
    first = manifest.datasets[0]
    assert first.technique == "XAS" and first.instrument == "ID30A-3" and first.start and first.end
    assert ("InstrumentMonochromator_energy", 8.979, "keV") in first.parameters
    assert not any(n.startswith("__") or n == "definition" for n, _, _ in first.parameters)
    names = {d.name for d in manifest.datasets}
    assert len(names) == 3  # the two ICAT+ datasets called sampleA_0001 stay two datasets
    assert all(f.dataset in names and f.path.startswith(f.dataset + "/") for f in manifest.files)
    hot = doi2data.resolve(fac.ESRF_SESSION_DOI, dataset="Sample_temperature > 400 and kind == 'raw'")
    assert [d.name for d in hot.datasets] != [] and len(hot.files) == 1
    mx = doi2data.resolve(fac.ESRF_DOI, dataset="MX_wavelength < 1.0")
    assert len(mx.files) == 17 and mx.datasets[0].parameters[0] == ("MX_wavelength", 0.9677, "Angstrom")


def test_cli_ls_groups_and_dataset_option(cli, net: FakeInternet) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", fac.ESRF_SESSION_DOI)
    assert run.code == 0, run.err
    assert "dataset sampleA_0002 [processed] sample sampleA_heated" in run.out and "3 file(s)" in run.out
    assert "in 3 dataset(s)" in run.out
    run = cli("ls", fac.ESRF_SESSION_DOI, "--json", "--dataset", "kind == 'processed' and sample like 'sampleA*'")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert [d["name"] for d in doc["datasets"]] == ["sampleA_0002"] and doc["file_count"] == 3
    assert {f["dataset"] for f in doc["files"]} == {"sampleA_0002"}
    assert {"name": "Sample_temperature", "value": 473.0, "unit": "K"} in doc["datasets"][0]["parameters"]
    bad = cli("ls", fac.ESRF_SESSION_DOI, "--dataset", "kind = = 'raw'")
    assert bad.code == 2 and "--dataset" in bad.err and "Traceback" not in bad.err
    assert len(bad.err.strip().splitlines()) == 1
    typo = cli("ls", fac.ESRF_SESSION_DOI, "--dataset", "temperature > 1")
    assert typo.code == 2 and "unknown name 'temperature'" in typo.err and "Sample_temperature" in typo.err


def test_cli_get_and_verify_take_dataset(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "d"
    run = cli("get", fac.ESRF_SESSION_DOI, str(dest), "-q", "--dataset", "kind == 'processed'")
    assert run.code == 0, run.err
    got = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file() and ".doi2data" not in p.parts)
    assert got == ["sampleA_0002/gallery/snapshot.png", "sampleA_0002/raw/detector.h5", "sampleA_0002/sampleA_0002.h5"]
    run = cli("verify", fac.ESRF_SESSION_DOI, str(dest), "--dataset", "kind == 'processed'")
    assert run.code == 0, run.err + run.out


# -- SciCat and PSI ---------------------------------------------------------------------------------

def test_scicat_datasets_raw_and_derived_with_units(net: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.SCICAT_V4_DOI)
    assert [(d.name, d.kind) for d in manifest.datasets] == [("run_001", "raw"), ("run_002", "processed")]
    raw = manifest.datasets[0]
    assert raw.sample == "lysozyme-0001" and raw.technique == "neutron spectroscopy" and raw.instrument == "/ENS/BIFROST"
    assert raw.start == "2024-01-25T17:00:00.000Z" and raw.end == "2024-01-25T18:34:00.000Z"
    assert set(raw.parameters) == {("incident_energy", 5.0, "meV"), ("temperature", 1.8, "K")}
    assert ("reduction", "mantid 6.9", None) in manifest.datasets[1].parameters
    assert {f.dataset for f in manifest.files} == {"run_001", "run_002"}
    derived = doi2data.resolve(fac.SCICAT_V4_DOI, dataset="kind == 'processed' and sample like 'lyso*'")
    assert [f.path for f in derived.files] == ["run_002/events_000.nxs"]
    cold = doi2data.resolve(fac.SCICAT_V4_DOI, dataset="temperature < 2 and incident_energy == 5")
    assert {f.dataset for f in cold.files} == {"run_001"} and len(cold.files) == 2
    # v3 documents without science fields: datasets by name, kind 'raw' (the emulator's default type)
    v3 = doi2data.resolve(fac.SCICAT_V3_DOI)
    assert [d.name for d in v3.datasets] == ["beamtime_7"] and all(f.dataset == "beamtime_7" for f in v3.files)


def test_psi_dataset_folders_are_datasets(net: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.PSI_MULTI_DOI)
    names = [d.name for d in manifest.datasets]
    assert len(names) > 1 and len(set(names)) == len(names)
    assert all(f.dataset in names and (f.path == f.dataset or f.path.startswith(f.dataset + "/"))
               for f in manifest.files)
    one = doi2data.resolve(fac.PSI_MULTI_DOI, dataset=f"name == '{names[0]}'")
    assert {f.dataset for f in one.files} == {names[0]} and 0 < len(one.files) < len(manifest.files)


# -- the gateway: ?datasets= --------------------------------------------------------------------------

def test_gateway_datasets_parameter(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    pytest.importorskip("jinja2")
    import httpx

    from doi2data.service import GatewayConfig, create_app
    from doi2data.service.testing import GatewayServer

    settings = {"cache_url": f"sqlite:///{tmp_path}/cache.sqlite", "allow_hosts": tuple(internet.hosts), "rate": 0,
                "access_log": str(tmp_path / "access.log")}
    for round_ in ("miss", "hit"):  # the second gateway reads the manifest back from its SQLite cache
        with internet.activated():
            server = GatewayServer(create_app(GatewayConfig(**settings))).start()  # type: ignore[arg-type]
        try:
            with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
                whole = http.get(f"/{fac.SCICAT_V4_DOI}")
                assert whole.headers["x-cache"] == round_
                assert [d["kind"] for d in whole.json()["datasets"]] == ["raw", "processed"]
                picked = http.get(f"/{fac.SCICAT_V4_DOI}", params={"datasets": "kind == 'processed'"})
                assert picked.status_code == 200, picked.text
                doc = picked.json()
                assert [f["path"] for f in doc["files"]] == ["run_002/events_000.nxs"]
                assert [d["name"] for d in doc["datasets"]] == ["run_002"]
                assert picked.headers["etag"] != whole.headers["etag"]
                both = http.get(f"/{fac.SCICAT_V4_DOI}", params={"datasets": "temperature < 2", "include": "*.log"})
                assert [f["path"] for f in both.json()["files"]] == ["run_001/run_001.log"]
                archive = http.get(f"/{fac.SCICAT_V4_DOI}", params={"datasets": "kind == 'raw'", "archive": "zip"})
                assert archive.status_code == 200
                import io
                import zipfile

                names = sorted(zipfile.ZipFile(io.BytesIO(archive.content)).namelist())
                assert names == ["run_001/detector/events_000.nxs", "run_001/run_001.log"]
                bad = http.get(f"/{fac.SCICAT_V4_DOI}", params={"datasets": "temprature < 2"})
                assert bad.status_code == 400 and "unknown name 'temprature'" in bad.json()["detail"]
                assert http.get(f"/{fac.SCICAT_V4_DOI}", params={"datasets": "("}).status_code == 400
                huge = http.get(f"/{fac.SCICAT_V4_DOI}", params={"datasets": "not " * 400 + "kind == 'raw'"})
                assert huge.status_code in (400, 414)
        finally:
            server.stop()


# -- export, transfer and --from take --dataset too -------------------------------------------------


def test_export_transfer_and_from_take_dataset(net: FakeInternet, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_here(capsys, "export", fac.SCICAT_V4_DOI, "--holey", "--bagit", str(tmp_path / "bag"),
                           "--dataset", "kind == 'processed'")
    assert code == 0, err
    fetched = (tmp_path / "bag" / "fetch.txt").read_text()
    assert "run_002/events_000.nxs" in fetched and "run_001" not in fetched
    code, out, err = run_here(capsys, "transfer", fac.SCICAT_V4_DOI, "--engine", "rclone", "--to", "remote:data",
                           "--dry-run", "--dataset", "kind == 'raw'")
    assert code == 0, err
    assert "run_001/run_001.log" in out and "run_002" not in out
    listing = tmp_path / "dois.txt"
    listing.write_text(f"{fac.SCICAT_V4_DOI}\n{fac.SCICAT_V3_DOI}\n")
    code, out, err = run_here(capsys, "ls", "--from", str(listing), "--json", "--dataset", "name like 'run_*'")
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [d["file_count"] for d in docs if d.get("doi") == fac.SCICAT_V4_DOI] == [3]
    # the v3 publication's one dataset is not chosen: an empty listing, not an error
    assert code == 0, err
    code, out, err = run_here(capsys, "get", fac.SCICAT_V4_DOI, str(tmp_path / "g"), "-q", "--dataset", "kind ==")
    assert code == 2 and "--dataset" in err and not (tmp_path / "g").exists()


# -- hostile metadata -------------------------------------------------------------------------------

def test_hostile_dataset_metadata_is_bounded() -> None:
    from doi2data.adapters import esrf
    from doi2data.adapters._pan.scicat_api import parse_dataset

    junk = {"id": 7, "name": "d", "type": ["raw"], "sampleName": "s\x00\x1b[31m" + "x" * 10_000,
            "startDate": {"$date": 1}, "techniques": "MX", "investigation": {"investigationInstruments": [None, 3]},
            "parameters": [None, 5, {"name": None, "value": "1"}, {"name": "big", "value": "1e999"},
                           {"name": "nan", "value": "nan"}, {"name": "obj", "value": {"a": 1}},
                           {"name": "flag", "value": True}, {"name": "__fileCount", "value": "3"},
                           *({"name": f"p{i}", "value": str(i), "units": "u" * 500} for i in range(5000))]}
    (parsed,) = esrf.parse_datasets([junk])
    info = parsed.about
    assert info is not None and info.kind == "other" and info.technique is None and info.instrument is None
    assert info.sample is not None and len(info.sample) <= 200 and info.sample.isprintable()
    assert info.start is None and parsed.file_count == 3
    names = [n for n, _, _ in info.parameters]
    assert names[:2] == ["big", "nan"] and dict((n, v) for n, v, _ in info.parameters)["big"] == "1e999"
    assert len(info.parameters) == 200 and all(len(u or "") <= 200 for _, _, u in info.parameters)
    doc = {"pid": "p/1", "type": "derived", "sampleIds": ["lyso"], "techniques": [{"name": "SAXS"}],
           "instrumentIds": ["/sls/cSAXS"], "scientificMetadata": {"a": {"value": [1, 2], "unit": "m"},
                                                                   "b": {"value": 2, "unit": 3}, "c": "text"}}
    about = parse_dataset(doc).about
    assert about is not None and (about.kind, about.sample, about.technique, about.instrument) == \
        ("processed", "lyso", "SAXS", "/sls/cSAXS")
    assert about.parameters == (("b", 2.0, None), ("c", "text", None))
    assert parse_dataset({"pid": "p/2", "scientificMetadata": [1, 2]}).about.parameters == ()  # type: ignore[union-attr]


def test_cached_manifest_with_junk_datasets_still_loads() -> None:
    from doi2data.service.cache import manifest_from_json

    doc = _manifest().to_json()
    assert manifest_from_json(doc).datasets == _manifest().datasets
    assert [f.dataset for f in manifest_from_json(doc).files] == [f.dataset for f in _manifest().files]
    doc["datasets"] = [None, {"name": "x", "kind": "weird", "parameters": [None, {"name": 3}]}, 7]
    doc["files"][0]["dataset"] = {"no": 1}
    loaded = manifest_from_json(doc)
    assert loaded.datasets == (DatasetInfo("x"),) and loaded.files[0].dataset is None


def test_ls_prints_dataset_names_literally() -> None:
    import io

    from rich.console import Console

    from doi2data.output import print_manifest

    m = Manifest(Dataset("10.1/z"), (FileEntry("a", 1, dataset="[red]x[/red]"),),
                 datasets=(DatasetInfo("[red]x[/red]", "raw", sample="[bold]s"),))
    out = io.StringIO()
    print_manifest(m, Console(file=out, width=200))
    assert "dataset [red]x[/red] [raw] sample [bold]s: 1 file(s), 1 B" in out.getvalue()


# -- DataCite HasPart: a collection's parts are its datasets -----------------------------------------

def test_datacite_parts_parsing() -> None:
    from doi2data.datacite import MAX_PARTS, datacite_parts

    doc = {"data": {"attributes": {"relatedIdentifiers": [
        None, {"relationType": "HasPart", "relatedIdentifier": "https://doi.org/10.1234/A", "relatedIdentifierType": "DOI"},
        {"relationType": "haspart", "relatedIdentifier": "10.1234/a", "relatedIdentifierType": "doi"},  # duplicate
        {"relationType": "IsPartOf", "relatedIdentifier": "10.1234/up", "relatedIdentifierType": "DOI"},
        {"relationType": "HasPart", "relatedIdentifier": "not a doi", "relatedIdentifierType": "DOI"},
        {"relationType": "HasPart", "relatedIdentifier": "https://x.org/f", "relatedIdentifierType": "URL"},
        {"relationType": "HasPart", "relatedIdentifier": ["10.1234/b"], "relatedIdentifierType": "DOI"},
        *({"relationType": "HasPart", "relatedIdentifier": f"10.2345/p{i}", "relatedIdentifierType": "DOI"}
          for i in range(1000))]}}}
    parts = datacite_parts(doc)
    assert parts[0] == "10.1234/A" and "10.1234/up" not in parts and len(parts) == MAX_PARTS
    assert datacite_parts({"data": {"attributes": {"relatedIdentifiers": "junk"}}}) == ()
    assert datacite_parts({"data": []}) == ()


def test_collection_doi_gathers_its_parts_as_datasets(net: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.COLLECTION_DOI)
    names = [d.name for d in manifest.datasets]
    assert names == ["scicat-demo-0001/run_001", "scicat-demo-0001/run_002", "ESRF-ES-144479045/sampleA_0001",
                     "ESRF-ES-144479045/sampleA_0002", "ESRF-ES-144479045/sampleA_0001~2", "zenodo.1215979"]
    assert manifest.datasets[1].kind == "processed" and manifest.datasets[-1].kind == "other"
    assert all(f.dataset in names and f.path.startswith(f.dataset.split("/")[0] + "/") for f in manifest.files)
    assert "scicat-demo-0001/run_002/events_000.nxs" in {f.path for f in manifest.files}
    assert len([f for f in manifest.files if f.dataset == "zenodo.1215979"]) == 8
    assert any(fac.COLLECTION_MISSING_PART in w for w in manifest.warnings)  # a lost part: a warning
    assert manifest.dataset.doi == fac.COLLECTION_DOI and manifest.dataset.resource_type
    chosen = doi2data.resolve(fac.COLLECTION_DOI, dataset="kind == 'processed'")
    assert {f.dataset for f in chosen.files} == {"scicat-demo-0001/run_002", "ESRF-ES-144479045/sampleA_0002"}
    zen = doi2data.resolve(fac.COLLECTION_DOI, dataset="name == 'zenodo.1215979'", include="*.cbf")
    assert len(zen.files) == 3


def test_collection_get_downloads_the_chosen_part(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "c"
    run = cli("get", fac.COLLECTION_DOI, str(dest), "-q", "--dataset", "sample like 'lyso*' and kind == 'raw'")
    assert run.code == 0, run.err
    got = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file() and ".doi2data" not in p.parts)
    assert got == ["scicat-demo-0001/run_001/detector/events_000.nxs", "scicat-demo-0001/run_001/run_001.log"]


def test_get_from_list_applies_dataset_to_each_doi(net: FakeInternet, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "dois.txt"
    listing.write_text(f"10.5281/zenodo.1215979\n{fac.SCICAT_V4_DOI}\n")
    code, out, err = run_here(capsys, "get", "--from", str(listing), str(tmp_path / "data"), "-q",
                           "--dataset", "kind == 'raw'")
    assert code == 2  # the Zenodo record lists no datasets: that DOI fails, the other still downloads
    assert "10.5281/zenodo.1215979 lists no datasets inside it" in err
    root = tmp_path / "data" / "10.5072_scicat-demo-0001"
    got = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".doi2data" not in p.parts)
    assert got == ["run_001/detector/events_000.nxs", "run_001/run_001.log"]
