"""The gateway as a facility deploys it: Debian's nginx terminating TLS in front of
``doi2data serve --workers 2 --cache postgresql://…`` with ``--public-url`` and ``--trust-forwarded``.

nginx runs ``docs/deploy/nginx-doi2data.conf`` and the gateway the ``ExecStart`` line of
``docs/deploy/doi2data-gateway.service`` (the files the README shows), with only names, ports,
certificate paths, the database and the log file changed, so the documented deployment is the
tested one. Clients reach nginx from different loopback addresses (127.0.0.2, 127.0.0.3 ...):
nginx's ``X-Forwarded-For`` tells the gateway who they are. Skipped when nginx or the PostgreSQL
server binaries are not installed (Debian packages ``nginx``, ``postgresql``; ``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest.importorskip("jinja2")
pytest.importorskip("psycopg")
trustme = pytest.importorskip("trustme")

from test_service_postgres import postgres_url  # noqa: F401  (the PostgreSQL fixture)

from doi2data.sandbox import FakeInternet, Quirk

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "docs" / "deploy"
NGINX_CONF = DEPLOY / "nginx-doi2data.conf"
UNIT = DEPLOY / "doi2data-gateway.service"
DOI = "10.5281/zenodo.1215979"
RATE, BURST = 0.01, 4  # per client and worker process: 4 requests, then one every 100 s (no refill during a test)


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _replace(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced; ``old`` must be there (the documented file changed otherwise)."""
    assert old in text, f"{old!r} no longer in the documented deployment: update this test with it"
    return text.replace(old, new)


def exec_start(unit: str) -> list[str]:
    """The unit's ``ExecStart`` command line as argv (``\\`` continuations joined, as systemd does)."""
    joined = unit.replace("\\\n", " ")
    line = next(line for line in joined.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def gateway_argv(unit: str, *, port: int, cache: str, public_url: str, access_log: Path) -> list[str]:
    """The documented ``doi2data serve`` command with this test's port, database, URL and log."""
    argv = exec_start(unit)
    assert Path(argv[0]).name == "doi2data" and argv[1] == "serve", argv
    values = {"--port": str(port), "--cache": cache, "--public-url": public_url, "--access-log": str(access_log)}
    for option, value in values.items():
        assert option in argv, f"{option} no longer in the documented ExecStart"
        argv[argv.index(option) + 1] = value
    assert "--trust-forwarded" in argv and argv[argv.index("--workers") + 1] == "2"
    return [sys.executable, "-m", "doi2data", *argv[1:]]


def nginx_server_block(conf: str, *, port: int, upstream: int, cert: Path, key: Path) -> str:
    """The documented server block with this test's ports and certificate."""
    conf = _replace(conf, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    conf = _replace(conf, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    conf = _replace(conf, "server_name data.example.org;", "server_name localhost;")
    conf = _replace(conf, "/etc/ssl/certs/data.example.org.pem", str(cert))
    return _replace(conf, "/etc/ssl/private/data.example.org.key", str(key))


def link_targets(header: str) -> list[tuple[str, str]]:
    """``(url, rel)`` for each target of a ``Link`` header (``rel="a b"`` gives two)."""
    out = []
    for part in header.split(", <"):
        url, _, params = part.lstrip("<").partition(">")
        rel = params.split('rel="', 1)[1].split('"', 1)[0] if 'rel="' in params else ""
        out.extend((url, one) for one in rel.split())
    return out


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not listen on {port} within {timeout} s: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process this test started (and its workers: it leads its own session)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@dataclass
class Deployment:
    url: str               # where clients connect (nginx)
    public_url: str        # what the gateway was told it is
    context: ssl.SSLContext
    access_log: Path

    def client(self, address: str = "127.0.0.1", **kwargs: object) -> httpx.Client:
        """A client whose connections come from ``address`` (loopback only)."""
        transport = httpx.HTTPTransport(local_address=address, verify=self.context)
        return httpx.Client(base_url=self.url, transport=transport, trust_env=False, timeout=60, **kwargs)  # type: ignore[arg-type]

    def logged(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def deployment(internet: FakeInternet, postgres_url: str,  # noqa: F811
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    nginx = _nginx()
    if nginx is None:
        pytest.skip("nginx not installed (Debian package: nginx)")
    tmp = tmp_path_factory.mktemp("nginx")
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp / "server.pem", tmp / "server.key"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))  # nginx: the certificate (chain) file
    with cert.open("ab") as out:
        for pem in leaf.cert_chain_pems[1:]:
            out.write(pem.bytes())
    port, upstream = _free_port(), _free_port()
    public_url = f"https://localhost:{port}"
    access_log = tmp / "gateway-access.log"
    argv = gateway_argv(UNIT.read_text(), port=upstream, cache=postgres_url, public_url=public_url,
                        access_log=access_log)
    argv += [*(f"--allow-host={h}" for h in internet.hosts), "--origin-rate", "zenodo.org=0",
             "--rate", str(RATE), "--burst", str(BURST)]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(internet.env)  # the gateway reaches the emulated repositories through the sandbox proxy
    gw_log = tmp / "gateway.log"
    with gw_log.open("wb") as out:
        gateway = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=tmp)
    nginx_proc: subprocess.Popen[bytes] | None = None
    try:
        _wait_port(upstream, gateway, "doi2data serve", gw_log)
        (tmp / "doi2data.conf").write_text(nginx_server_block(NGINX_CONF.read_text(), port=port, upstream=upstream,
                                                              cert=cert, key=key))
        temp = {name: tmp / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        (tmp / "nginx.conf").write_text(
            f"worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n    access_log {tmp}/nginx-access.log;\n"
            + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
            + f"    include {tmp}/doi2data.conf;\n}}\n")
        nginx_log = tmp / "nginx.out"
        with nginx_log.open("wb") as out:
            nginx_proc = subprocess.Popen([nginx, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-e",
                                           str(tmp / "error.log"), "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(port, nginx_proc, "nginx", nginx_log)
        context = ssl.create_default_context()
        ca.configure_trust(context)
        deployment = Deployment(f"https://127.0.0.1:{port}", public_url, context, access_log)
        with deployment.client("127.0.0.9") as probe:  # both workers up, the cache on PostgreSQL
            health = probe.get("/healthz")
            assert health.status_code == 200 and health.json()["cache"].startswith("postgresql://"), health.text
        yield deployment
    finally:
        if nginx_proc is not None:
            _stop(nginx_proc)
        _stop(gateway)


def test_documented_files_are_the_ones_the_docs_show() -> None:
    """The README (or the docs page the Gateway section moved to) shows these files verbatim, or
    includes them (an MkDocs ``--8<--`` snippet of the file itself): the tested deployment is the documented one."""
    pages = [page for page in (REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))) if page.is_file()]
    texts = [page.read_text(encoding="utf-8") for page in pages]
    for path, marker in ((NGINX_CONF, "upstream doi2data {"), (UNIT, "ExecStart=/usr/local/bin/doi2data serve")):
        text, relative = path.read_text(), path.relative_to(REPO).as_posix()
        assert marker in text
        shown = any(text in page or f'--8<-- "{relative}"' in page for page in texts)
        assert shown, f"no page shows {relative} as it is (README.md, docs/**/*.md)"
        stale = [str(page.relative_to(REPO)) for page, body in zip(pages, texts) if marker in body and text not in body]
        assert not stale, f"{stale} show a copy of {relative} that differs from the file"
    assert "proxy_buffering off;" in NGINX_CONF.read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX_CONF.read_text()  # replaced, not appended


def test_links_and_redirects_carry_the_public_url(deployment: Deployment, net: FakeInternet) -> None:
    public = deployment.public_url
    with deployment.client("127.0.0.4") as client:
        r = client.get(f"/{DOI}", headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["schema"] == "doi2data-manifest/1"
        links = link_targets(r.headers["link"])
        assert {"item", "linkset", "cite-as"} <= {rel for _, rel in links}, links
        own = [url for url, rel in links if rel in ("item", "linkset")]
        assert len(own) >= 8 + 2 and all(url.startswith(public + "/") for url in own), own  # 8 files, 2 linksets
        assert "127.0.0.1" not in r.headers["link"] and "http://" not in r.headers["link"]
        # the redirects the gateway makes itself: the home page's DOI box, a non-canonical path
        box = client.get("/", params={"doi": f"https://doi.org/{DOI}"})
        assert box.status_code == 303 and box.headers["location"] == f"{public}/{DOI}", box.headers
        other = client.get(f"/doi:{DOI}")
        assert other.status_code == 308 and other.headers["location"] == f"{public}/{DOI}", other.headers
        # ... and the public URL, as a client would follow it, is served by this nginx
        followed = client.get(other.headers["location"].replace(public, deployment.url),
                              headers={"Accept": "application/linkset+json"})
        assert followed.status_code == 200
        anchors = {entry["anchor"] for entry in followed.json()["linkset"]}
        assert f"{public}/{DOI}" in anchors, anchors


def test_per_client_limits_see_the_real_client_address(deployment: Deployment, net: FakeInternet) -> None:
    """Two clients behind the same nginx are two clients; a forged X-Forwarded-For changes nothing."""
    forged = {"X-Forwarded-For": "198.51.100.7", "Accept": "application/json"}
    with deployment.client("127.0.0.2") as one, deployment.client("127.0.0.3") as two:
        statuses = [one.get(f"/{DOI}", headers=forged).status_code for _ in range(3 * BURST)]
        assert statuses[0] == 200 and 429 in statuses, statuses
        # each of the 2 worker processes allows one burst: at most 2 * BURST answered
        assert statuses.count(200) <= 2 * BURST and set(statuses) == {200, 429}, statuses
        assert two.get(f"/{DOI}", headers=forged).status_code == 200  # 127.0.0.3 has its own budget
        limited = one.get(f"/{DOI}")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    deadline = time.monotonic() + 10  # a worker writes its line once the response is done
    while True:
        seen = [line for line in deployment.logged() if str(line.get("path", "")).endswith(DOI)]
        if sum(line["client"] == "127.0.0.2" for line in seen) > len(statuses) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    clients = {line["client"] for line in seen}
    assert {"127.0.0.2", "127.0.0.3"} <= clients and "198.51.100.7" not in clients, clients
    from_one = [line["status"] for line in seen if line["client"] == "127.0.0.2"]
    assert sorted(from_one) == sorted([*statuses, 429]), (from_one, statuses)


def test_a_streamed_zip_passes_unbuffered(deployment: Deployment, net: FakeInternet) -> None:
    """The first bytes of an archive reach the client while the origin is still stalled mid-archive."""
    stall = 3.0
    # the first member's origin answers, then stalls before its first byte: only its zip header can go out
    net.add_quirk(Quirk(host="zenodo.org", path="*README.json*", kind="stall", after_bytes=0,
                        seconds=stall, times=1, method="GET"))
    with deployment.client("127.0.0.5") as client:
        client.get(f"/{DOI}")  # manifest cached: the timing below is the archive's alone
        start = time.monotonic()
        with client.stream("GET", f"/{DOI}", params={"archive": "zip"}) as r:
            assert r.status_code == 200, r.read()[:300]
            chunks = r.iter_raw()
            first = next(chunks)
            first_at = time.monotonic() - start
            body = first + b"".join(chunks)
        total = time.monotonic() - start
    assert body.startswith(b"PK\x03\x04") and b"README.json" in first
    assert total >= stall, (first_at, total)
    assert first_at < total - stall / 2, f"first byte after {first_at:.2f} s of {total:.2f} s: buffered by nginx"
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None and len(archive.namelist()) >= 8
        assert archive.read("README.json") == net.world.file_bytes("1215979", "README.json")
