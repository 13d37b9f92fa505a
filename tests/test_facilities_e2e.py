"""PSI, SciCat, DESY/dCache and plain web folders end to end through the fake internet.

Each test checks what went over the wire (``net.log``) as well as the result: the PSI route of
Millar's talk within its request budget, every dataset folder of a download page, sha1 from the
checksum files really verified, tape-only folders reported, the DESY Metalink/PROPFIND/Want-Digest
and 307 path, and listings from three web servers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import doi2data
from doi2data.errors import UnsupportedRepository
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.sandbox import facilities as fac
from doi2data.sandbox.sites.psi import folder_files

DESY_ENV = {"DOI2DATA_SCICAT": f"public-data.desy.de storage=https://{fac.DESY_STORAGE_HOST}"}


def expected_psi(net: FakeInternet, doi: str) -> dict[str, bytes]:
    """``{manifest path: bytes}`` of the online folders of a PSI publication (checksum files included)."""
    pub = next(p for p in fac.PSI_PUBLICATIONS if p.doi == doi)
    out = {}
    for folder in (f for f in pub.folders if f.online):
        name = folder.url.rstrip("/").rsplit("/", 1)[-1]
        out.update({f"{name}/{k}": net.world.read(v) for k, v in folder_files(net.world, folder).items()})
    return out


def files_under(dest: Path) -> dict[str, bytes]:
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*")
            if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


# -- PSI ---------------------------------------------------------------------------------------------

def test_psi_seed_doi_listing_and_round_trips(net: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.PSI_DOI)
    want = expected_psi(net, fac.PSI_DOI)
    assert {f.path: f.size for f in manifest.files} == {k: len(v) for k, v in want.items()}
    for f in manifest.files:
        if "__checksum" not in f.path:
            assert dict(f.checksums) == {"sha1": net.world.digest(
                next(s for s in fac.PSI_PUBLICATIONS[0].folders[0].files if f.path.endswith("/" + s.key)), "sha1")}
    assert manifest.dataset.repository == "PSI" and manifest.dataset.title.startswith("Synchrotron Imaging")
    log = [r for r in net.log if r.status is not None]
    folder = "/datasets/sls/X02DA/Data10/e17068/disk1/h11913_4_3_/tif/"
    first_crawl = next(i for i, r in enumerate(log) if r.path == folder)
    assert first_crawl <= 5, [f"{r.method} {r.host}{r.path}" for r in log[:first_crawl]]
    oai = [r for r in log if r.path.startswith("/oaipmh/")]
    assert oai and oai[0].path.endswith("/10.16907%2Fd699e1f7-e822-4396-8c64-34ed405f07b7")  # %252F on the wire
    assert all(r.path.startswith(folder) or r.path.endswith("/disk1/") for r in log if r.host == "doi2.psi.ch")
    assert manifest.discovery is not None and manifest.discovery.adapter == "psi"


def test_psi_get_verifies_sha1_and_catches_corruption(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    net.add_quirk(Quirk(host="doi2.psi.ch", path="*_0007.tif", kind="corrupt", offset=1000))  # every time
    run = cli("get", fac.PSI_DOI, "out", "--attempts", "2")
    assert run.code == 1 and "tif/h11913_4_3_0007.tif" in run.err and "sha1" in run.err
    assert not (tmp_path / "out/tif/h11913_4_3_0007.tif").exists()
    net.clear_quirks()
    net.add_quirk(Quirk(host="doi2.psi.ch", path="*_0007.tif", kind="corrupt", offset=10, times=1))
    report = doi2data.download(fac.PSI_DOI, tmp_path / "out")  # flipped once more, caught, fetched again
    (result,) = [r for r in report.results if r.status == "downloaded"]
    assert result.path == "tif/h11913_4_3_0007.tif" and "sha1" in " ".join(result.retries)
    assert files_under(tmp_path / "out") == expected_psi(net, fac.PSI_DOI)
    run = cli("verify", fac.PSI_DOI, "out")
    assert run.code == 0 and "14 ok, 0 bad, 1 unchecked" in run.err  # the checksum list itself has no checksum


def test_psi_multi_dataset_page_spaces_and_tape(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = doi2data.resolve(f"https://doi.psi.ch/detail/{fac.PSI_MULTI_DOI.replace('/', '%2F')}")
    by_path = {f.path: f for f in manifest.files}
    assert {p.split("/")[0] for p in by_path} == {"scan_a", "scan_b", "scan_c"}  # every wget line
    assert by_path["scan_c"].access == "offline" and "tape" in (by_path["scan_c"].note or "")
    gone = next(f for f in fac.PSI_PUBLICATIONS[1].folders if not f.online)
    assert by_path["scan_c"].size == sum(f.size for f in folder_files(net.world, gone).values())  # from the page
    assert by_path["scan_a/raw/flats/notes  (two spaces).txt"].checksums["sha1"]  # from __checksum_filename_1__
    assert by_path["scan_a/recon/slice 0001.tif"].checksums and by_path["scan_b/scan_b.log"].checksums
    assert not any(p.endswith("/raw") or p == "scan_a/recon" for p in by_path)  # is_directory lines are not files
    assert any("scan_c is offline" in w for w in manifest.warnings)
    run = cli("get", fac.PSI_MULTI_DOI, "multi")
    assert run.code == 0, run.err
    assert "skipped scan_c" in run.err and "retrieve" in run.err
    assert files_under(tmp_path / "multi") == expected_psi(net, fac.PSI_MULTI_DOI)


def test_psi_fallback_to_scicat_v4_and_source_folders(net: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.PSI_V4_DOI)
    assert sorted(f.path for f in manifest.files) == ["lyso_01/__checksum_filename_0__", "lyso_01/lyso_01_0001.cbf",
                                                      "lyso_01/lyso_01_0002.cbf"]
    route = [(r.host, r.path, r.status) for r in net.log if r.host in ("doi.psi.ch", "dacat.psi.ch")]
    assert [s for h, p, s in route if "/oaipmh/" in p] == [404, 404]  # double, then single encoding
    assert ("dacat.psi.ch", f"/api/v3/PublishedData/{fac.PSI_V4_DOI}", 404) in route
    assert ("dacat.psi.ch", f"/api/v4/publisheddata/{fac.PSI_V4_DOI}", 200) in route
    assert ("dacat.psi.ch", "/api/v4/datasets/public/20.500.11935/dddd0004", 200) in route  # doubled prefix undone


def test_psi_explain_names_the_route(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", fac.PSI_DOI, "--explain")
    assert run.code == 0, run.err
    assert "adapter psi" in run.err and "oaipmh/Publication/detail/10.16907%252F" in run.err
    assert "disk1/" in run.err and "tif/__checksum_filename_0__" in run.err


# -- generic SciCat ------------------------------------------------------------------------------------

@pytest.mark.parametrize("doi", [fac.SCICAT_V4_DOI, fac.SCICAT_V3_DOI])
def test_generic_scicat_instances(net: FakeInternet, tmp_path: Path, doi: str) -> None:
    pub = next(p for p in fac.SCICAT_PUBLICATIONS if p.doi == doi)
    report = doi2data.download(doi, tmp_path)
    got = files_under(tmp_path)
    want = {f"{d.source_folder.rsplit('/', 1)[-1]}/{f.key}": net.world.read(f) for d in pub.datasets for f in d.files}
    assert got == want and report.count("downloaded") == len(want)
    manifest = doi2data.resolve(doi)
    assert all(f.checksums for f in manifest.files)
    paths = [r.path for r in net.log if r.host in (pub.frontend, pub.backend)]
    if pub.config:
        assert "/assets/config.json" in paths and any(p.startswith("/api/v4/datasets/public/") for p in paths)
    else:
        assert any(p.endswith("/origdatablocks") for p in paths)


# -- DESY: SciCat + dCache ------------------------------------------------------------------------------

def test_desy_metalink_propfind_want_digest_nearline(net: FakeInternet, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("DOI2DATA_SCICAT", DESY_ENV["DOI2DATA_SCICAT"])
    manifest = doi2data.resolve(fac.DESY_DOI)
    folder = "10.5281 zenodo.6497438"
    by = {f.path.removeprefix(folder + "/"): f for f in manifest.files}
    pub = fac.DESY_PUBLICATIONS[0]
    assert set(by) == {f.key for f in pub.folder.files}
    assert set(by["calc_xrr.py"].checksums) == {"sha1", "md5"}                 # Metalink <hash>
    assert set(by["conda_env.yml"].checksums) == {"adler32"}                   # PROPFIND Checksums
    assert set(by["xrr_dataset.h5"].checksums) == {"adler32", "md5"}           # PROPFIND, md5 in base64
    assert set(by["requirements.txt"].checksums) == {"adler32", "md5"}         # HEAD Want-Digest
    spec = {f.key: f for f in pub.folder.files}
    for key, entry in by.items():
        for algo, digest in entry.checksums.items():
            want = net.world.digest(spec[key], algo) if algo != "adler32" else None
            assert want is None or digest == want
    assert by["raw/old_scan.h5"].access == "offline" and "NEARLINE" in (by["raw/old_scan.h5"].note or "")
    log = net.log
    assert any(r.method == "PROPFIND" and r.headers.get("depth") == "1" for r in log)
    assert any(r.method == "GET" and "metalink" in r.headers.get("accept", "") for r in log)
    heads = [r for r in log if r.method == "HEAD" and r.host == fac.DESY_STORAGE_HOST]
    assert [r.path.rsplit("/", 1)[-1] for r in heads] == ["requirements.txt"] and "want-digest" in heads[0].headers
    net.clear_log()
    report = doi2data.download(manifest, tmp_path)
    assert report.count("downloaded") == 9 and report.count("skipped") == 1
    assert any(r.host == fac.DESY_STORAGE_HOST and r.status == 307 for r in net.log)
    assert any(r.host == "hifis-pool-01.desy.de" and r.status == 200 for r in net.log)
    got = files_under(tmp_path)
    assert got == {f"{folder}/{k}": net.world.read(v) for k, v in spec.items() if k != "raw/old_scan.h5"}


def test_desy_door_without_metalink_and_rfc9530(cli, net: FakeInternet) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", fac.DESY_LINK_DOI, "--json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    spec = {f.key: f for f in fac.DESY_PUBLICATIONS[1].folder.files}
    assert {f["path"]: f["checksums"].get("md5") for f in doc["files"]} == {
        "run_01/run_01.h5": net.world.digest(spec["run_01.h5"], "md5"), "run_01/meta/run_01.json": None}
    assert all(f["checksums"]["adler32"] for f in doc["files"])
    heads = [r for r in net.log if r.method == "HEAD"]
    assert len(heads) == 2 and all("want-repr-digest" in r.headers for r in heads)


def test_desy_corrupt_pool_bytes_caught_by_adler32(net: FakeInternet, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("DOI2DATA_SCICAT", DESY_ENV["DOI2DATA_SCICAT"])
    net.add_quirk(Quirk(host="hifis-pool-01.desy.de", path="*/conda_env.yml", kind="corrupt", offset=3))
    report = doi2data.download(fac.DESY_DOI, tmp_path, include="conda_env.yml", raise_on_failure=False)
    assert "adler32" in report.failed["10.5281 zenodo.6497438/conda_env.yml"]


# -- plain web folders ---------------------------------------------------------------------------------

@pytest.mark.parametrize("host", fac.WEB_HOSTS)
def test_web_listing_by_url(net: FakeInternet, tmp_path: Path, host: str) -> None:
    url = f"https://{host}{fac.WEB_ROOT}"
    manifest = doi2data.resolve(url)
    want = {f.key: f for f in fac.WEB_FILES}
    assert {f.path: f.size for f in manifest.files if "__checksum" not in f.path} == {k: v.size for k, v in want.items()}
    assert all(f.checksums.get("sha1") for f in manifest.files if "__checksum" not in f.path)
    heads = [r.path for r in net.log if r.method == "HEAD"]
    assert len(heads) == {"nginx.example.net": 0, "apache.example.net": 3, "lighttpd.example.net": 6}[host]
    assert not any(r.path in ("/pub/", "/") for r in net.log if r.host == host)  # never above the root
    doi2data.download(manifest, tmp_path)
    assert {k: v for k, v in files_under(tmp_path).items() if "__checksum" not in k} == \
        {k: net.world.read(v) for k, v in want.items()}


def test_web_listing_cli_and_not_a_listing(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", f"https://apache.example.net{fac.WEB_ROOT}")
    assert run.code == 0, run.err
    assert "data/big.bin" in run.out and "odd names/α β.txt" in run.out and "sha1:" in run.out
    with pytest.raises(UnsupportedRepository, match="not a web directory listing"):
        doi2data.resolve("https://data.example.org/")


def test_typed_url_with_slash_that_is_a_landing_page_still_found(net: FakeInternet) -> None:
    """The web-listing adapter claims typed ``…/`` URLs by shape; a landing page falls back to the generic layers."""
    from doi2data.sandbox.sites.signposting_repo import JSONLD_HOST, SIGNPOSTING_HOST

    assert len(doi2data.resolve(f"https://{JSONLD_HOST}/dataset/ab12cd/").files) == 2
    assert len(doi2data.resolve(f"https://{SIGNPOSTING_HOST}/datasets/1/").files) == 3
