"""A real HTTP third-party copy: gfal2 asks XRootD to pull each file straight from the repository.

Setup, all on loopback:

* **origin**: the sandbox's zenodo.org site served directly on ``http://127.0.0.1:PORT`` (its
  absolute ``https://zenodo.org`` links rebased there), so doi2data resolves the record by URL
  (InvenioRDM API probe) and every file URL in the manifest points at this server. Why not the
  sandbox proxy: gfal2's HTTP plugin ignores ``HTTPS_PROXY`` and gfal-copy stats the source before
  every copy, so the source must be directly reachable, as it is on a real network. Why plain
  http: gfal2 2.21 asks the storage to delegate an X.509 proxy (``Credential: gridsite``) for an
  https source it holds no token for, and XRootD 5.5 refuses that (HTTP 400) - see
  ``doi2data.handoff.gfal``.
  Every request is logged with its User-Agent and the *uid owning the client socket*
  (``/proc/net/tcp``): XRootD runs as ``nobody``, doi2data and gfal-copy as the test's user, so a
  body sent to ``nobody`` went origin -> XRootD.
* **XRootD** 5.5 (Debian ``xrootd-server`` + ``xrootd-server-plugins``): ``libXrdHttp`` with TLS
  (certificate from a trustme CA), ``libXrdHttpTPC`` for ``COPY``, ``xrootd.chksum max 2 md5
  adler32`` so it answers ``Want-Digest`` with the digests gfal2 asks for; started as a
  subprocess with ``-R nobody`` (it refuses to run as root) and stopped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import doi2data
from doi2data.errors import TransferError
from doi2data.handoff import Handoff, fts3, gfal
from doi2data.sandbox import FakeInternet

RECID = "1215979"
PICK = ("README.json", "images/frame_0002.cbf", "notes/run log.txt", "données/été.csv")
TPC_LIB = "libXrdHttpTPC-5.so"


def _gfal_ready() -> bool:
    if shutil.which("gfal-copy") is None or not Path("/usr/bin/python3").exists() or shutil.which("openssl") is None:
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import gfal2, gfal2_util"], capture_output=True).returncode == 0


def _xrootd_missing() -> str | None:
    if shutil.which("xrootd") is None:
        return "xrootd is not installed (Debian: xrootd-server xrootd-server-plugins)"
    found = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    if TPC_LIB not in found:
        return f"{TPC_LIB} is missing (Debian: xrootd-server-plugins)"
    if not _gfal_ready():
        return "gfal2 tools missing (Debian: gfal2-util-scripts python3-gfal2-util gfal2-plugin-http gfal2-plugin-file)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _socket_uid(client_port: int, server_port: int) -> int | None:
    """The uid owning the loopback socket ``127.0.0.1:client_port -> :server_port`` (Linux ``/proc``)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rpartition(":")[2], 16) == client_port and int(remote.rpartition(":")[2], 16) == server_port:
                return int(fields[7])
    return None


@dataclass
class Hit:
    method: str
    path: str
    user_agent: str
    uid: int | None
    status: int = 0
    body_bytes: int = 0


class Origin:
    """ASGI wrapper: rebase ``https://zenodo.org`` in JSON answers; log who asked and what was sent."""

    def __init__(self, app: Any, base: str, port: int) -> None:
        self.app, self.base, self.port = app, base.encode(), port
        self.hits: list[Hit] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client") or ("", 0)
        hit = Hit(scope["method"], scope["path"], headers.get("user-agent", ""), _socket_uid(client[1], self.port))
        self.hits.append(hit)
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
                 + [(b"host", b"zenodo.org")]}
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                hit.status = message["status"]
                return
            body = message.get("body", b"")
            content_type = dict(start.get("headers", [])).get(b"content-type", b"")
            if start and not scope["path"].endswith("/content"):
                start["headers"] = [(k, v.replace(b"https://zenodo.org", self.base)) for k, v in start["headers"]]
            if (b"json" in content_type or b"html" in content_type) and not scope["path"].endswith("/content"):
                # API answers and landing pages are small: buffer, rebase, send once
                chunks.append(body)
                if message.get("more_body"):
                    return
                body = b"".join(chunks).replace(b"https://zenodo.org", self.base)
                fixed = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*fixed, (b"content-length", str(len(body)).encode())]})
                start.clear()
                await send({"type": "http.response.body", "body": body})
                return
            if start:
                await send(start)
                start.clear()
            hit.body_bytes += len(body)
            await send(message)

        await self.app(scope, receive, sending)


@dataclass
class Tls:
    certdir: Path  # hashed CA directory, for X509_CERT_DIR and xrd.tlsca
    bundle: Path  # the same CA as a PEM file, for SSL_CERT_FILE
    ca: Any


@pytest.fixture(scope="module")
def tls() -> Iterator[Tls]:
    trustme = pytest.importorskip("trustme")
    base = Path(tempfile.mkdtemp(prefix="doi2data-tpc-ca-"))
    os.chmod(base, 0o755)
    ca = trustme.CA(organization_name="doi2data sandbox", organization_unit_name="tpc test")
    certdir = base / "certificates"
    certdir.mkdir()
    ca.cert_pem.write_to_path(str(certdir / "sandbox-tpc-ca.pem"))
    subprocess.run(["openssl", "rehash", str(certdir)], check=True, capture_output=True)
    os.chmod(certdir, 0o755)
    for pem in certdir.iterdir():
        if not pem.is_symlink():
            pem.chmod(0o644)
    yield Tls(certdir, certdir / "sandbox-tpc-ca.pem", ca)
    shutil.rmtree(base, ignore_errors=True)


@contextmanager
def _serve_origin(net: FakeInternet, tls: Tls, tmp_path: Path, scheme: str) -> Iterator[tuple[str, Origin]]:
    """The zenodo.org emulator on ``SCHEME://127.0.0.1:PORT``, logging every request."""
    uvicorn = pytest.importorskip("uvicorn")
    port = _free_port()
    base = f"{scheme}://127.0.0.1:{port}"
    app = Origin(net.sites["zenodo.org"], base, port)
    ssl: dict[str, str] = {}
    if scheme == "https":
        pem = tmp_path / "origin.pem"
        tls.ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
        ssl["ssl_certfile"] = str(pem)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off",
                                           http="h11", ws="none", **ssl))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield base, app
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def origin(net: FakeInternet, tls: Tls, tmp_path: Path) -> Iterator[tuple[str, Origin]]:
    with _serve_origin(net, tls, tmp_path, "http") as served:
        yield served


@pytest.fixture
def https_origin(net: FakeInternet, tls: Tls, tmp_path: Path) -> Iterator[tuple[str, Origin]]:
    with _serve_origin(net, tls, tmp_path, "https") as served:
        yield served


@dataclass
class XRootD:
    url: str  # davs://127.0.0.1:PORT
    https: str  # https://127.0.0.1:PORT
    data: Path  # the export's local root
    log: Path


@pytest.fixture(scope="module")
def xrootd(tls: Tls) -> Iterator[XRootD]:
    """XRootD as a WebDAV + HTTP-TPC endpoint on loopback, run as ``nobody``."""
    if missing := _xrootd_missing():
        pytest.skip(missing)
    if os.geteuid() != 0:
        pytest.skip("needs root: xrootd runs as 'nobody' (-R nobody), which is how the origin tells its requests "
                    "from doi2data's and gfal-copy's")
    base = Path(tempfile.mkdtemp(prefix="doi2data-xrootd-"))  # not under pytest's 0700 tmp: nobody must enter
    os.chmod(base, 0o755)
    for name in ("data", "admin", "run"):
        (base / name).mkdir()
    leaf = tls.ca.issue_cert("127.0.0.1", "localhost")
    leaf.cert_chain_pems[0].write_to_path(str(base / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(base / "key.pem"))
    port, http_port = _free_port(), _free_port()
    (base / "xrootd.cfg").write_text(f"""\
all.export /
oss.localroot {base}/data
all.adminpath {base}/admin
all.pidpath {base}/run
xrd.port {port}
xrd.protocol XrdHttp:{http_port} libXrdHttp.so
xrd.tls {base}/cert.pem {base}/key.pem
xrd.tlsca certdir {tls.certdir}
http.exthandler xrdtpc libXrdHttpTPC.so
xrootd.chksum max 2 md5 adler32
""")
    nobody = pwd.getpwnam("nobody")  # xrootd refuses to run as root
    for path in [base, *base.rglob("*")]:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    argv = ["xrootd", "-R", "nobody", "-c", str(base / "xrootd.cfg"), "-l", str(base / "xrootd.log")]
    os.chmod(base / "key.pem", 0o600)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"xrootd exited ({proc.returncode}): {_tail(base / 'xrootd.log')}")
        try:
            socket.create_connection(("127.0.0.1", http_port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"xrootd did not listen on {http_port}: {_tail(base / 'xrootd.log')}")
    yield XRootD(f"davs://127.0.0.1:{http_port}", f"https://127.0.0.1:{http_port}", base / "data", base / "xrootd.log")
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    shutil.rmtree(base, ignore_errors=True)


def _tail(path: Path) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-8:])
    except OSError:
        return "(no log)"


@pytest.fixture
def gfal_env(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What gfal-copy needs: the CA directory, the system Python's bindings, no proxy."""
    env = {"X509_CERT_DIR": str(tls.certdir), "GFAL_PYTHONBIN": "/usr/bin/python3", "SSL_CERT_FILE": str(tls.bundle),
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _include() -> list[str]:
    args: list[str] = []
    for path in PICK:
        args += ["--include", path]
    return args


def _nobody() -> int:
    return pwd.getpwnam("nobody").pw_uid


def _content_hits(app: Origin) -> list[Hit]:
    return [h for h in app.hits if h.path.endswith("/content")]


def test_tpc_pull_into_xrootd_origin_to_storage_verified(cli, net: FakeInternet, origin: tuple[str, Origin],  # type: ignore[no-untyped-def]
                                                         xrootd: XRootD, gfal_env: dict[str, str]) -> None:
    base, app = origin
    run = cli("transfer", f"{base}/records/{RECID}", "--engine", "gfal", "--to", f"{xrootd.url}/pull", "--tpc", "pull",
              *_include(), env=gfal_env)
    assert run.code == 0, run.err + _tail(xrootd.log)
    assert "copied and verified 4 file(s)" in run.err
    for path in PICK:
        assert (xrootd.data / "pull" / path).read_bytes() == net.world.file_bytes(RECID, path)
    bodies = [h for h in _content_hits(app) if h.method == "GET"]
    assert len(bodies) == len(PICK)  # one GET per file ...
    assert {h.uid for h in bodies} == {_nobody()}  # ... each on a socket of xrootd's user, not ours
    assert all("gfal2" not in h.user_agent and "doi2data" not in h.user_agent for h in bodies)
    assert sum(h.body_bytes for h in bodies) == sum(len(net.world.file_bytes(RECID, p)) for p in PICK)
    ours = [h for h in app.hits if h.uid == os.geteuid() and h.method == "GET"]
    assert ours and all(h.body_bytes < 64 * 1024 and not h.path.endswith("/content") for h in ours)  # API JSON only
    stat = [h for h in _content_hits(app) if h.uid == os.geteuid()]  # gfal-copy's stat of the source: no GET
    assert stat and {h.method for h in stat} <= {"HEAD", "PROPFIND", "POST"} and all(h.body_bytes < 100 for h in stat)


def test_checksum_is_computed_by_xrootd_and_a_wrong_one_fails(net: FakeInternet, origin: tuple[str, Origin],
                                                              xrootd: XRootD, gfal_env: dict[str, str]) -> None:
    base, _ = origin
    manifest = doi2data.resolve(f"{base}/records/{RECID}", include="README.json")
    assert set(manifest.files[0].checksums) == {"md5"}  # what Zenodo publishes
    wrong = manifest.with_files([replace(manifest.files[0], checksums={"md5": "0" * 32})])
    with pytest.raises(TransferError, match="do not match .*the wrong copy was removed"):
        gfal.run(gfal.build(wrong, f"{xrootd.url}/wrong", copy_mode="pull"), timeout=60)
    found = subprocess.run(["gfal-sum", f"{xrootd.url}/wrong/README.json", "ADLER32"], capture_output=True, text=True,
                           timeout=60)
    assert found.returncode != 0  # gfal2 leaves it; doi2data removed it


def test_tpc_never_streams_through_the_client(cli, net: FakeInternet, origin: tuple[str, Origin],  # type: ignore[no-untyped-def]
                                              xrootd: XRootD, gfal_env: dict[str, str]) -> None:
    base, app = origin
    run = cli("transfer", f"{base}/records/{RECID}", "--engine", "gfal", "--to", f"{xrootd.url}/streamed",
              "--tpc", "never", "--include", "README.json", env=gfal_env)
    assert run.code == 0, run.err
    assert (xrootd.data / "streamed/README.json").read_bytes() == net.world.file_bytes(RECID, "README.json")
    bodies = [h for h in _content_hits(app) if h.method == "GET"]
    assert len(bodies) == 1 and bodies[0].uid == os.geteuid() and "gfal2" in bodies[0].user_agent


def test_tpc_push_from_storage_and_refused_by_a_repository(cli, net: FakeInternet, origin: tuple[str, Origin],  # type: ignore[no-untyped-def]
                                                           xrootd: XRootD, gfal_env: dict[str, str]) -> None:
    base, _ = origin
    run = cli("transfer", f"{base}/records/{RECID}", "--engine", "gfal", "--to", f"{xrootd.url}/push",
              "--tpc", "push", "--include", "README.json", env=gfal_env)
    assert run.code == 1 and len(run.err.strip().splitlines()) == 1, run.err
    assert "cannot push" in run.err and "--tpc pull" in run.err, run.err
    # A source that speaks HTTP-TPC pushes: the files XRootD holds, copied by XRootD to another path.
    manifest = doi2data.resolve(f"{base}/records/{RECID}", include="README.json")
    (xrootd.data / "seed").mkdir(exist_ok=True)
    seed = xrootd.data / "seed" / "README.json"
    seed.write_bytes(net.world.file_bytes(RECID, "README.json"))
    os.chown(seed, _nobody(), pwd.getpwnam("nobody").pw_gid)
    stored = manifest.with_files([replace(manifest.files[0], urls=(f"{xrootd.https}/seed/README.json",))])
    gfal.run(gfal.build(stored, f"dav://{xrootd.url.partition('://')[2]}/pushed", copy_mode="push"), timeout=60)
    assert (xrootd.data / "pushed/README.json").read_bytes() == net.world.file_bytes(RECID, "README.json")


def test_fts3_job_runs_as_the_same_verified_http_tpc_copies(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                                            origin: tuple[str, Origin], xrootd: XRootD,
                                                            gfal_env: dict[str, str]) -> None:
    """FTS3 parity: the document ``--engine fts3`` submits, each file run the way FTS's url-copy runs it."""
    base, app = origin
    run = cli("transfer", f"{base}/records/{RECID}", "--engine", "fts3", "--to", f"{xrootd.url}/fts", "--dry-run",
              *_include(), env=gfal_env)
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert document["params"]["verify_checksum"] == "target" and len(document["files"]) == len(PICK)
    job = Handoff("fts3", run.out, len(document["files"]), 0, payload=document)
    local = fts3.as_gfal(job, copy_mode="pull")
    assert [c[-2:] for c in local.commands] == [(f["sources"][0], f["destinations"][0]) for f in document["files"]]
    assert all(("-K", f["checksum"]) == c[2:4] for c, f in zip(local.commands, document["files"]))
    app.hits.clear()
    gfal.run(local, timeout=120)
    for doc in document["files"]:
        path = doc["metadata"]["path"]
        assert (xrootd.data / "fts" / path).read_bytes() == net.world.file_bytes(RECID, path)
        assert doc["checksum"] == f"MD5:{net.world.checksum(RECID, path)}"
    assert {h.uid for h in _content_hits(app) if h.method == "GET"} == {_nobody()}


def test_https_source_without_a_token_is_refused_by_xrootd_with_gfal2_2_21(
        net: FakeInternet, https_origin: tuple[str, Origin], xrootd: XRootD, gfal_env: dict[str, str]) -> None:
    """The documented limit: gfal2 2.21 asks XRootD to delegate for an https source; XRootD 5.5 says 400."""
    base, app = https_origin
    manifest = doi2data.resolve(f"{base}/records/{RECID}", include="README.json")
    try:
        gfal.run(gfal.build(manifest, f"{xrootd.url}/https", copy_mode="pull"), timeout=60)
    except TransferError as exc:
        assert "Credential: gridsite" in str(exc) and "--tpc never" in str(exc)
        assert "unsupported credential type:  gridsite" in xrootd.log.read_text(errors="replace")
        assert not [h for h in _content_hits(app) if h.method == "GET"]
    else:  # a newer gfal2 or XRootD: then the copy must be the real thing
        assert (xrootd.data / "https/README.json").read_bytes() == net.world.file_bytes(RECID, "README.json")


def test_tpc_option_is_gfal_copy_mode(net: FakeInternet, capsys: pytest.CaptureFixture[str]) -> None:
    """``--tpc`` maps onto gfal-copy's ``--copy-mode``; contradicting the older option is a usage error."""
    from doi2data.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["transfer", "10.5281/zenodo.1215979", "--engine", "gfal", "--to", "davs://se.example.org/d",
                  "--include", "README.json", "--dry-run", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    for tpc, mode in (("pull", "--copy-mode pull"), ("push", "--copy-mode push"), ("never", "--copy-mode streamed")):
        code, out, _ = run("--tpc", tpc)
        assert code == 0 and mode in out
    code, out, _ = run("--tpc", "auto")
    assert code == 0 and "--copy-mode" not in out and "gfal-copy -p -K MD5:" in out
    code, _, err = run("--tpc", "pull", "--copy-mode", "push")
    assert code == 2 and "contradicts" in err and len(err.strip().splitlines()) == 1
