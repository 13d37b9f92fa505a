"""End to end through the fake internet: the CLI and the Python API, real HTTP stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import doi2data
from doi2data.errors import DownloadIncomplete, IdentifierNotFound, InvalidIdentifier, UnsupportedRepository
from doi2data.http import USER_AGENT
from doi2data.sandbox import FakeInternet, Quirk

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"


def files_under(dest: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(dest)): p.read_bytes()
        for p in dest.rglob("*") if p.is_file() and ".doi2data" not in p.relative_to(dest).parts
    }


def content_requests(net: FakeInternet) -> list[str]:
    return [r.path for r in net.log if r.host == "zenodo.org" and "/files/" in r.path and r.method == "GET"]


def test_ls_table(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", DOI)
    assert run.code == 0, run.err
    assert "Sandbox diffraction images" in run.out
    assert "README.json" in run.out and "Zenodo" in run.out
    assert "file(s)" in run.out and "md5:" in run.out


def test_ls_json_contract_and_checksums(cli, net: FakeInternet) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", DOI, "--json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert doc["doi"].lower() == DOI and doc["repository"] == "Zenodo" and doc["title"]
    assert len(doc["files"]) >= 6
    for f in doc["files"]:
        assert set(f) >= {"path", "size", "checksums", "url", "access"}
        assert f["checksums"]["md5"] == net.world.checksum(RECID, f["path"], "md5")
        assert f["size"] == len(net.world.file_bytes(RECID, f["path"]))


def test_get_with_filters(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", DOI, "data", "--include", "*.json", "--exclude", "tmp/*")
    assert run.code == 0, run.err
    got = files_under(tmp_path / "data")
    assert set(got) == {"README.json", "metadata/experiment.json"}
    for path, data in got.items():
        assert data == net.world.file_bytes(RECID, path)


@pytest.mark.parametrize(
    "form",
    [
        f"doi:{DOI}", f"https://doi.org/{DOI}", f"http://dx.doi.org/{DOI}", "10.5281%2Fzenodo.1215979",
        "10.5281/ZENODO.1215979", f"https://zenodo.org/records/{RECID}", f"https://zenodo.org/record/{RECID}",
        "hdl:20.500.11935/4a1a945b-a6aa-476c-a833-1754100355c8",
    ],
)
def test_every_identifier_form(net: FakeInternet, form: str) -> None:
    manifest = doi2data.resolve(form)
    assert manifest.dataset.record_id == RECID
    assert {f.path for f in manifest.files} == {f.path for f in doi2data.resolve(DOI).files}


def test_full_get_then_rerun_moves_zero_bytes(net: FakeInternet, tmp_path: Path) -> None:
    dest = tmp_path / "all"
    first = doi2data.download(DOI, dest)
    manifest = doi2data.resolve(DOI)
    assert first.count("downloaded") == len(manifest.files)
    for f in manifest.files:
        assert (dest / f.path).read_bytes() == net.world.file_bytes(RECID, f.path)
    net.clear_log()
    second = doi2data.download(DOI, dest)
    assert second.bytes_transferred == 0 and second.count("present") == len(manifest.files)
    assert content_requests(net) == []


def test_rerun_after_local_damage_refetches_only_that_file(net: FakeInternet, tmp_path: Path) -> None:
    dest = tmp_path / "d"
    doi2data.download(DOI, dest)
    victim = dest / "README.json"
    victim.write_bytes(b"damaged")
    net.clear_log()
    report = doi2data.download(DOI, dest)
    assert report.count("downloaded") == 1
    assert victim.read_bytes() == net.world.file_bytes(RECID, "README.json")


def test_persistent_corruption_fails_named_and_leaves_no_final_file(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0001.cbf*", kind="corrupt", offset=10))
    run = cli("get", DOI, "out")
    assert run.code == 1
    assert "frame_0001.cbf" in run.err and "md5" in run.err
    assert "Traceback" not in run.err
    assert not (tmp_path / "out/images/frame_0001.cbf").exists()
    assert (tmp_path / "out/README.json").exists()  # the others still completed


def test_transient_corruption_is_refetched(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0001.cbf*", kind="corrupt", offset=10, times=1))
    doi2data.download(DOI, tmp_path / "x")
    assert (tmp_path / "x/images/frame_0001.cbf").read_bytes() == net.world.file_bytes(RECID, "images/frame_0001.cbf")


def test_truncated_body_resumes_with_range(net: FakeInternet, tmp_path: Path) -> None:
    key = "images/frame_0001.cbf"
    size = len(net.world.file_bytes(RECID, key))
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0001.cbf*", kind="reset", after_bytes=size // 2, times=1))
    doi2data.download(DOI, tmp_path / "r", include=key)
    assert (tmp_path / "r" / key).read_bytes() == net.world.file_bytes(RECID, key)
    ranged = [r for r in net.log if "frame_0001" in r.path and "range" in r.headers]
    assert ranged and ranged[-1].headers["range"].startswith("bytes=")
    assert ranged[-1].headers.get("if-range")


def test_retry_after_429(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/content", kind="status", status=429,
                        headers={"Retry-After": "1"}, times=1))
    report = doi2data.download(DOI, tmp_path / "y", include="README.json")
    assert report.count("downloaded") == 1


def test_hostile_names_stay_inside(net: FakeInternet, tmp_path: Path) -> None:
    dest = tmp_path / "inside" / "dest"
    report = doi2data.download("10.5281/zenodo.7000001", dest, raise_on_failure=False)
    outside = [p for p in (tmp_path / "inside").rglob("*") if p.is_file() and dest not in p.parents]
    assert outside == []
    assert report.messages  # renamed / refused names are reported
    assert any(r.status == "failed" and ".." in r.path for r in report.results)


def test_not_found_doi(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", "10.5281/zenodo.999999999")
    assert run.code == IdentifierNotFound.exit_code == 4
    assert "Traceback" not in run.err and len(run.err.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["not-a-doi", "10.5281", "ftp://x.org/y", ""])
def test_invalid_identifier_exit_2(cli, bad: str) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", bad)
    assert run.code == InvalidIdentifier.exit_code == 2
    assert run.err.startswith("doi2data: error:") and "Traceback" not in run.err


def test_unsupported_repository(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", "10.99999/unsupported.1")
    assert run.code == UnsupportedRepository.exit_code == 5
    assert "data.example.org" in run.err


def test_datacite_metadata_in_dataset(net: FakeInternet) -> None:
    ds = doi2data.resolve(DOI).dataset
    assert ds.title and ds.creators and ds.publisher and ds.year and ds.license and ds.resource_type
    assert any(r.host == "api.datacite.org" for r in net.log)


def test_handle_api_down_falls_back_to_redirect(net: FakeInternet) -> None:
    net.add_quirk(Quirk(host="doi.org", path="/api/handles/*", kind="status", status=500))
    assert doi2data.resolve(DOI).dataset.record_id == RECID
    assert any(r.host == "doi.org" and not r.path.startswith("/api/") for r in net.log)


def test_user_agent_identifies_us(net: FakeInternet) -> None:
    doi2data.resolve(DOI)
    agents = {r.headers.get("user-agent") for r in net.log}
    assert agents == {USER_AGENT}
    assert USER_AGENT.startswith(f"doi2data/{doi2data.__version__} (+http")


def test_untrusted_ca_is_a_network_error(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "empty-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(bogus))
    run = cli("ls", DOI, env={"SSL_CERT_FILE": str(bogus)})
    assert run.code == 8 and "Traceback" not in run.err


def test_concept_doi_resolves_to_latest_version(net: FakeInternet) -> None:
    manifest = doi2data.resolve("10.5281/zenodo.1215978")
    assert manifest.dataset.record_id == RECID
    assert any("concept" in w for w in manifest.warnings)


@pytest.mark.parametrize("doi", ["10.5281/zenodo.3459420", "10.5281/zenodo.8173303"])
def test_legacy_and_migration_shapes_download(net: FakeInternet, tmp_path: Path, doi: str) -> None:
    report = doi2data.download(doi, tmp_path / "s")
    assert report.count("downloaded") >= 1 and not report.failed


def test_restricted_and_embargoed_are_reported_not_errors(net: FakeInternet, tmp_path: Path) -> None:
    for doi in net.world.restricted_dois():
        manifest = doi2data.resolve(doi)
        assert manifest.warnings or any(f.access != "open" for f in manifest.files)
        report = doi2data.download(doi, tmp_path / doi.replace("/", "_"))
        assert not report.failed


def test_download_incomplete_carries_failures(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*README.json*", kind="status", status=404))
    with pytest.raises(DownloadIncomplete) as info:
        doi2data.download(DOI, tmp_path / "z", include="*.json")
    assert list(info.value.failures) == ["README.json"]


def test_demo_runs(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("demo", timeout=180)
    assert run.code == 0, run.err
    assert "zero bytes" in run.err and "README.json" in run.out


def test_no_proxy_is_honoured(net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host in NO_PROXY is reached directly; without it the request goes to the proxy."""
    import asyncio
    import http.server
    import threading

    from doi2data.http import Http, make_client

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b'{"direct": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/x"

    async def fetch() -> object:
        async with make_client() as client:
            return await Http(client, max_attempts=1).get_json(url)

    try:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        assert asyncio.run(fetch()) == {"direct": True}
        assert not any(r.host == "127.0.0.1" for r in net.log)
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.setenv("no_proxy", "")
        with pytest.raises(doi2data.Doi2DataError):
            asyncio.run(fetch())  # through the sandbox proxy, which knows no such site
        assert any(r.host == "127.0.0.1" for r in net.log)
    finally:
        server.shutdown()
        server.server_close()


def test_get_json_events(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", DOI, "ev", "--include", "*.json", "--json")
    assert run.code == 0, run.err
    events = [json.loads(line) for line in run.out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "summary" and kinds.count("file_done") == 3
    assert events[-1]["downloaded"] == 3 and events[-1]["failed"] == {}


def test_verify_command(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("get", DOI, "v", "-q").code == 0
    assert cli("verify", DOI, "v").code == 0
    (tmp_path / "v/README.json").write_bytes(b"tampered")
    run = cli("verify", DOI, "v")
    assert run.code == 1 and "README.json" in run.err and "MISMATCH" in run.err
