"""``doi2data transfer``: FTS3 and Globus jobs against emulated services; rclone and gfal-copy for real."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import doi2data
from doi2data.errors import AccessDenied, TransferError, UsageError
from doi2data.handoff import fts3, gfal, rclone
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.sites import fts3 as fts3_site
from doi2data.sandbox.sites import globus as globus_site
from conftest import run_here  # noqa: E402

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"
FTS = "https://fts3-pilot.cern.ch"
SRC_COLLECTION = "6c1e3e2a-1111-4c3b-9a57-0d2d0a7e5a11"
DST_COLLECTION = "9f0b2d7e-2222-4f6a-8b1c-3e4d5f6a7b8c"


# -- FTS3 --------------------------------------------------------------------------------------
def test_fts3_job_has_sources_destinations_checksums_and_sizes(net: FakeInternet) -> None:
    manifest = doi2data.resolve(DOI)
    job = fts3.build(manifest, "davs://dcache.example.org/incoming/")
    assert job.payload is not None and json.loads(job.text) == job.payload
    assert fts3_site.validate(job.payload)  # the emulator's copy of fts-rest's checks
    files = {f["metadata"]["path"]: f for f in job.payload["files"]}
    assert len(files) == 8 and job.payload["params"]["verify_checksum"] == "target"
    csv = files["données/été.csv"]
    assert csv["sources"] == ["https://zenodo.org/api/records/1215979/files/donn%C3%A9es%2F%C3%A9t%C3%A9.csv/content"]
    assert csv["destinations"] == ["davs://dcache.example.org/incoming/donn%C3%A9es/%C3%A9t%C3%A9.csv"]
    assert csv["checksum"] == f"MD5:{net.world.checksum(RECID, 'données/été.csv')}"
    assert csv["filesize"] == len(net.world.file_bytes(RECID, "données/été.csv"))


def test_fts3_submission_through_the_cli(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                        capsys: pytest.CaptureFixture[str]) -> None:
    token = f"fts3-pilot.cern.ch={fts3_site.TOKEN}"
    run = cli("transfer", DOI, "--engine", "fts3", "--to", "davs://se.example.org/in", "--fts-server", FTS,
              "--token", token, "--include", "images")
    assert run.code == 0, run.err
    job_id = run.out.strip()
    site = net.sites["fts3-pilot.cern.ch"]
    job = site.jobs[job_id]
    assert job["job_state"] == "FINISHED" and len(job["files"]) == 3  # sizes and md5s matched the world's bytes
    assert fts3.status(FTS, job_id, tokens=[token])["job_state"] == "FINISHED"
    code, _, err = run_here(capsys, "transfer", DOI, "--engine", "fts3", "--to", "davs://se.example.org/in",
                            "--fts-server", FTS)
    assert code == 7 and "--token" in err
    assert run_here(capsys, "transfer", DOI, "--engine", "fts3", "--to", "davs://se.example.org/in")[0] == 2


def test_fts3_emulator_refuses_bad_jobs_and_fails_bad_checksums(net: FakeInternet) -> None:
    job = fts3.build(doi2data.resolve(DOI, include="README.json"), "davs://se.example.org/in")
    with pytest.raises(fts3_site.JobError, match="checksum"):
        fts3_site.validate({"files": [{**job.payload["files"][0], "checksum": "md5:xyz"}]})
    with pytest.raises(fts3_site.JobError, match="No transfers"):
        fts3_site.validate({"files": []})
    tampered = replace(job, payload={**job.payload, "files": [{**job.payload["files"][0], "checksum": "MD5:" + "0" * 32}]})
    job_id = fts3.submit(tampered, FTS, tokens=[f"fts3-pilot.cern.ch={fts3_site.TOKEN}"])
    result = net.sites["fts3-pilot.cern.ch"].jobs[job_id]
    assert result["job_state"] == "FAILED" and "checksum mismatch" in result["files"][0]["reason"]


# -- Globus ------------------------------------------------------------------------------------
def test_globus_transfer_data_and_submission(net: FakeInternet) -> None:
    globus = pytest.importorskip("doi2data.handoff.globus")
    manifest = doi2data.resolve(DOI)
    job = globus.build(manifest, f"globus://{DST_COLLECTION}/~/incoming/", source_collection=SRC_COLLECTION,
                       source_root="/zenodo/1215979")
    doc = job.payload
    assert doc["DATA_TYPE"] == "transfer" and doc["verify_checksum"] is True and doc["sync_level"] == 3
    assert doc["source_endpoint"] == SRC_COLLECTION and doc["destination_endpoint"] == DST_COLLECTION
    item = next(i for i in doc["DATA"] if i["source_path"].endswith("run log.txt"))
    assert item == {"DATA_TYPE": "transfer_item", "source_path": "/zenodo/1215979/notes/run log.txt",
                    "destination_path": "/~/incoming/notes/run log.txt", "checksum_algorithm": "MD5",
                    "external_checksum": net.world.checksum(RECID, "notes/run log.txt")}
    task_id = globus.submit(job, tokens=[f"transfer.api.globus.org={globus_site.TOKEN}"])
    site = net.sites["transfer.api.globus.org"]
    assert site.tasks[task_id]["files"] == 8
    sent = [(r.method, r.path) for r in net.log if r.host == "transfer.api.globus.org"]
    assert sent == [("GET", "/v0.10/submission_id"), ("POST", "/v0.10/transfer")]
    assert next(r for r in net.log if r.path == "/v0.10/transfer").headers["authorization"] == \
        f"Bearer {globus_site.TOKEN}"
    with pytest.raises(AccessDenied):
        globus.submit(job, tokens=["transfer.api.globus.org=expired"])
    with pytest.raises(UsageError):
        globus.build(manifest, f"globus://{DST_COLLECTION}/x", source_collection=None)
    with pytest.raises(UsageError):
        globus.build(manifest, "https://example.org/x", source_collection=SRC_COLLECTION)


def test_globus_cli_dry_run_and_submit(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                      capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("globus_sdk")
    args = ("transfer", DOI, "--engine", "globus", "--to", f"globus://{DST_COLLECTION}/data",
            "--source-collection", SRC_COLLECTION, "--include", "*.json")
    code, out, err = run_here(capsys, *args, "--dry-run")
    assert code == 0, err
    assert {i["destination_path"] for i in json.loads(out)["DATA"]} == \
        {"/data/README.json", "/data/metadata/experiment.json", "/data/tmp/scratch.json"}
    run = cli(*args, "--token", f"transfer.api.globus.org={globus_site.TOKEN}")
    assert run.code == 0, run.err
    assert run.out.strip() in net.sites["transfer.api.globus.org"].tasks


# -- rclone ------------------------------------------------------------------------------------
def test_rclone_routes(net: FakeInternet) -> None:
    manifest = doi2data.resolve(DOI, include="*.json")
    doi_route = rclone.build(manifest, "remote:bucket/ds", route="doi", full=False)
    assert doi_route.commands == (("rclone", "copy", f":doi,doi={DOI}:", "remote:bucket/ds",
                                   "--files-from-raw", "doi2data-files.txt"),)
    assert doi_route.files["doi2data-files.txt"] == "README.json\nmetadata/experiment.json\ntmp/scratch.json\n"
    url_route = rclone.build(manifest, "out", route="url")
    assert url_route.commands[0] == ("rclone", "copyurl", manifest.files[0].url, "out/README.json")
    assert url_route.commands[-1] == ("rclone", "checksum", "md5", "doi2data.md5", "out", "--one-way")
    assert "cat > doi2data.md5 <<'DOI2DATA_EOF'" in url_route.text
    assert rclone.doi_backend_supports(manifest)


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is not installed (Debian: rclone)")
def test_rclone_really_copies_and_checks(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("transfer", DOI, "--engine", "rclone", "--rclone-route", "url", "--to", str(tmp_path / "rc"),
              "--include", "*.json", "--include", "notes")
    assert run.code == 0, run.err
    for path in ("README.json", "metadata/experiment.json", "tmp/scratch.json", "notes/run log.txt"):
        assert (tmp_path / "rc" / path).read_bytes() == net.world.file_bytes(RECID, path)
    manifest = doi2data.resolve(DOI, include="README.json")
    job = rclone.build(manifest, str(tmp_path / "rc"), route="url")
    bad = replace(job, files={"doi2data.md5": "0" * 32 + "  README.json\n"})
    with pytest.raises(TransferError, match="checksum"):
        rclone.run(bad)


# -- gfal2 -------------------------------------------------------------------------------------
def _gfal_ready() -> bool:
    if shutil.which("gfal-copy") is None or not Path("/usr/bin/python3").exists():
        return False
    probe = subprocess.run(["/usr/bin/python3", "-c", "import gfal2, gfal2_util"], capture_output=True)
    return probe.returncode == 0 and shutil.which("openssl") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _WantDigest:
    """RFC 3230 for the test WebDAV server: answer ``Want-Digest: MD5`` as dCache/EOS/StoRM do."""

    def __init__(self, app: Any, root: Path) -> None:
        self.app, self.root = app, root

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        want = environ.get("HTTP_WANT_DIGEST", "").lower()
        target = self.root / environ.get("PATH_INFO", "/").lstrip("/")
        if "md5" in want and environ["REQUEST_METHOD"] in ("HEAD", "GET") and target.is_file():
            value = base64.b64encode(hashlib.md5(target.read_bytes()).digest()).decode()

            def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                return start_response(status, [*headers, ("Digest", f"md5={value}")], exc_info)

            return self.app(environ, start)
        return self.app(environ, start_response)


@pytest.fixture
def webdav(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """wsgidav on loopback (anonymous read/write), served by cheroot."""
    wsgidav_app = pytest.importorskip("wsgidav.wsgidav_app")
    cheroot = pytest.importorskip("cheroot.wsgi")
    root = tmp_path / "dav"
    root.mkdir()
    app = wsgidav_app.WsgiDAVApp({"provider_mapping": {"/": str(root)}, "simple_dc": {"user_mapping": {"*": True}},
                                  "verbose": 0, "logging": {"enable": False}})
    port = _free_port()
    server = cheroot.Server(("127.0.0.1", port), _WantDigest(app, root))
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield f"dav://127.0.0.1:{port}/incoming", root
    server.stop()
    thread.join(10)


@pytest.fixture
def zenodo_mirror(net: FakeInternet, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The sandbox's zenodo.org site served straight on https://localhost:PORT.

    gfal2's HTTP plugin (davix) ignores HTTPS_PROXY, so it cannot reach the fake internet through
    its proxy; it reads CA certificates from X509_CERT_DIR (hashed names), so a CA made here is
    installed there the way grid hosts install theirs.
    """
    trustme = pytest.importorskip("trustme")
    uvicorn = pytest.importorskip("uvicorn")
    ca = trustme.CA()
    certs = tmp_path / "certificates"
    certs.mkdir()
    ca.cert_pem.write_to_path(str(certs / "sandbox-ca.pem"))
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    server_pem = tmp_path / "localhost.pem"
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    port = _free_port()
    config = uvicorn.Config(net.sites["zenodo.org"], host="127.0.0.1", port=port, ssl_certfile=str(server_pem),
                            log_level="error", lifespan="off", http="h11", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"https://localhost:{port}", certs
    server.should_exit = True
    thread.join(10)


def test_gfal_commands(net: FakeInternet) -> None:
    manifest = doi2data.resolve(DOI, include="*.csv")
    job = gfal.build(manifest, "davs://se.example.org/data", copy_mode="pull")
    md5 = net.world.checksum(RECID, "données/été.csv")
    assert job.commands == (("gfal-copy", "-p", "-K", f"MD5:{md5}", "--checksum-mode", "target", "--copy-mode", "pull",
                             manifest.files[0].url, "davs://se.example.org/data/donn%C3%A9es/%C3%A9t%C3%A9.csv"),)
    assert job.text.startswith("#!/bin/sh\n") and "gfal-copy -p -K" in job.text


@pytest.mark.skipif(not _gfal_ready(), reason="gfal2 tools missing (Debian: gfal2-util-scripts python3-gfal2-util "
                                              "gfal2-plugin-http gfal2-plugin-file)")
def test_gfal_copy_really_copies_into_webdav_with_checksum_verification(
        net: FakeInternet, webdav: tuple[str, Path], zenodo_mirror: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dav_url, dav_root = webdav
    mirror, certs = zenodo_mirror
    monkeypatch.setenv("GFAL_PYTHONBIN", "/usr/bin/python3")  # the Debian bindings live in the system Python
    monkeypatch.setenv("X509_CERT_DIR", str(certs))
    manifest = doi2data.resolve(DOI, include=["images/frame_0002.cbf", "notes"])
    local = manifest.with_files(replace(f, urls=tuple(u.replace("https://zenodo.org", mirror) for u in f.urls))
                                for f in manifest.files)
    job = gfal.build(local, dav_url, copy_mode="streamed")
    gfal.run(job, timeout=120)
    for path in ("images/frame_0002.cbf", "notes/run log.txt"):
        assert (dav_root / "incoming" / path).read_bytes() == net.world.file_bytes(RECID, path)
    wrong = local.with_files([replace(local.files[0], checksums={"md5": "0" * 32})])
    with pytest.raises(TransferError, match="(?i)checksum"):
        gfal.run(gfal.build(wrong, dav_url + "/wrong", copy_mode="streamed"), timeout=120)
