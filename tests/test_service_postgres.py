"""The shared manifest cache on a real PostgreSQL server (Debian ``postgresql``), started here
on a temporary directory and port; skipped when the server binaries are not installed."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("psycopg")
pytest.importorskip("jinja2")

from doi2data.identifiers import parse_identifier  # noqa: E402
from doi2data.model import Dataset, FileEntry, Manifest  # noqa: E402
from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.service.cache import PostgresStore, open_store  # noqa: E402
from doi2data.service.manifests import ManifestService  # noqa: E402

MANIFEST = Manifest(Dataset("10.1234/pg", title="PG"), (FileEntry("a", 1, {}, ("https://h.example/a",)),))


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries not installed (Debian package: postgresql)")
    root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if root else []
    if root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb refuses root")
    base = Path(tempfile.mkdtemp(prefix="doi2data-pg-"))
    if root:
        shutil.chown(base, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data, log = base / "data", base / "log"
    run = subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                          "--no-sync"], capture_output=True, text=True)
    if run.returncode:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {run.stderr.strip()[:200]}")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "30",
                            "start"], capture_output=True, text=True)
    try:
        if start.returncode:
            pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[:200]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_store_shared_by_two_processes(postgres_url: str) -> None:
    calls: list[str] = []

    async def resolve(ident):  # type: ignore[no-untyped-def]
        calls.append(ident.value)
        return MANIFEST

    async def go() -> None:
        one, two = open_store(postgres_url), open_store(postgres_url)
        assert isinstance(one, PostgresStore) and "postgres@" not in one.description  # no user/password shown
        now = [1000.0]
        a = ManifestService(one, resolve, ttl=10, stale=100, clock=lambda: now[0])
        b = ManifestService(two, resolve, ttl=10, stale=100, clock=lambda: now[0])
        ident = parse_identifier("10.1234/pg")
        assert (await a.get(ident))[1] == "miss"
        entry, state = await b.get(ident)
        assert state == "hit" and entry.manifest == MANIFEST and calls == ["10.1234/pg"]
        key = "doi:10.1234/pg"
        assert await one.claim(key, 30) and not await two.claim(key, 30)  # one refresher at a time
        now[0] += 50
        assert (await b.get(ident))[1] == "stale"
        await one.ping()
        for svc, store in ((a, one), (b, two)):
            await svc.close()
            await store.close()

    asyncio.run(go())


def test_two_gateways_share_the_cache(postgres_url: str, internet: FakeInternet, net: FakeInternet,
                                      tmp_path: Path) -> None:
    from test_service_gateway import start

    doi = "10.5281/zenodo.3459420"
    states = []
    for _ in range(2):
        server = start(internet, tmp_path, cache_url=postgres_url)
        try:
            r = httpx.get(f"{server.url}/{doi}", trust_env=False, timeout=30)
            assert r.status_code == 200, r.text
            states.append(r.headers["x-cache"])
            assert httpx.get(f"{server.url}/healthz", trust_env=False).json()["cache"].startswith("postgresql://")
        finally:
            server.stop()
    assert states[1] == "hit"
