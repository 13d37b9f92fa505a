#!/usr/bin/env python
"""Gateway load figures: cached manifest requests per second, zip streaming throughput against
a direct download of the same bytes, and the gateway's memory while it streams a 2 GiB archive.

Everything runs here, offline, on loopback: the sandbox (emulated doi.org / DataCite / Zenodo
behind its TLS proxy) runs in this driver process, the gateway is a real ``doi2data serve``
process (one worker, JSON access log to a file, rate limit off), and the load comes from ``wrk``
(Debian package ``wrk``) or, when it is missing, a small asyncio keep-alive client.

    python benchmarks/gateway.py                 # full: 2 GiB archive, 10 s of load
    python benchmarks/gateway.py --quick         # 256 MiB, 3 s (a smoke run)
    python benchmarks/gateway.py --streams-only --repeat 3   # only direct vs zip, three pairs

Figures (what the README's "Gateway" section reports):

* ``manifest req/s``: ``GET /{doi}`` (JSON, cached in memory) at 32 connections;
* ``direct MB/s``: curl fetching the file from the (emulated) origin through the proxy, to /dev/null;
* ``zip MB/s``: curl fetching ``?archive=zip`` of the same file from the gateway (stored zip,
  exact Content-Length, MD5 and CRC-32 computed while streaming), and the ratio to direct;
* ``gateway CPU``: MB streamed per CPU-second of the gateway process (user + system), which
  other work on the machine skews far less than MB/s;
* ``RSS``: the gateway's resident memory before, at peak during, and after the archive.

Direct and zip downloads alternate ``--repeat`` times (default 2) and each pair gives a ratio:
on a shared machine the absolute rates swing with other people's load, the ratio of two
downloads made seconds apart much less. The table reports medians and every pair's ratio.
Everything shares this machine's cores: the sandbox origin (one Python process doing the TLS of
both paths), curl and the gateway, so the gateway's share of the CPU bounds the zip rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from doi2data.sandbox import FakeInternet, FileSpec, Record, World
from doi2data.sandbox.datasets import DEMO_DOI, default_records

MiB, GiB = 1 << 20, 1 << 30
BIG_RECID = "9100001"
BIG_DOI = f"10.5281/zenodo.{BIG_RECID}"


def build_world(big: int) -> World:
    records = default_records()
    records.append(Record(BIG_RECID, "9100000", "Gateway benchmark: one large file", publication_date="2025-01-15",
                          files=(FileSpec("big.bin", big),)))
    return World(records=records)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Samples a process's RSS every 100 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self._stop_event = pid, [], threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append(rss_kib(self.pid))
            time.sleep(0.1)

    def stop(self) -> list[int]:
        self._stop_event.set()
        self.join()
        return self.samples


def start_gateway(net: FakeInternet, workdir: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(net.env)
    cmd = [sys.executable, "-m", "doi2data", "serve", "--port", str(port), "--cache", str(workdir / "cache.sqlite"),
           "--rate", "0", "--max-streams", "64", "--access-log", str(workdir / "access.log"),
           "--workers", str(workers), *(a for h in net.hosts for a in ("--allow-host", h))]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "gateway.err").open("wb"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", trust_env=False, timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gateway did not start: " + (workdir / "gateway.err").read_text())


def run_wrk(url: str, seconds: float, connections: int) -> tuple[float, str]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency",
                          "-H", "Accept: application/json", url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses")
    return rate, p99.group(1) if p99 else "?"


async def _py_load(host: str, port: int, path: str, seconds: float, connections: int) -> int:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode()
    done = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            done += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done


def py_load(url: str, seconds: float, connections: int) -> tuple[float, str]:
    parts = httpx.URL(url)
    started = time.perf_counter()
    count = asyncio.run(_py_load(parts.host, parts.port or 80, parts.raw_path.decode(), seconds, connections))
    return count / (time.perf_counter() - started), "n/a"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def curl_seconds(url: str, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}", url], env=env,
                         capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - started, int(out)


def manifest_rows(net: FakeInternet, workdir: Path, url: str, seconds: float, connections: int
                  ) -> list[tuple[str, str, str]]:
    """Cached-manifest requests per second with one and with two gateway workers."""
    target = f"{url}/{DEMO_DOI}"
    load = "wrk" if shutil.which("wrk") else "python"
    rate, p99 = (run_wrk if load == "wrk" else py_load)(target, seconds, connections)
    rows = [("cached manifest (JSON, 8 files), 1 worker", f"{rate:,.0f} req/s", f"{load}, "
             f"{connections} connections, {seconds:g} s, p99 {p99}; target >= 2,000")]
    proc2, url2 = start_gateway(net, workdir, workers=2)  # shares the SQLite cache file
    try:
        for _ in range(4):  # warm both workers' memory (the store already has the row)
            httpx.get(f"{url2}/{DEMO_DOI}", trust_env=False, timeout=60)
        rate2, p99_2 = (run_wrk if load == "wrk" else py_load)(f"{url2}/{DEMO_DOI}", seconds, connections)
    finally:
        proc2.terminate()
        proc2.wait(15)
    rows.append(("cached manifest (JSON, 8 files), 2 workers", f"{rate2:,.0f} req/s", f"same load; p99 {p99_2}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="256 MiB archive, 3 s of load")
    parser.add_argument("--seconds", type=float, default=None, help="load duration (default 10, quick 3)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--big", type=float, default=None, help="archive size in GiB (default 2, quick 0.25)")
    parser.add_argument("--repeat", type=int, default=2, help="direct/zip download pairs (default 2)")
    parser.add_argument("--streams-only", action="store_true", help="skip the req/s measurements")
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    big = int((args.big or (0.25 if args.quick else 2.0)) * GiB)
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed: apt-get install -y curl")
    load_before = os.getloadavg()[0]
    world = build_world(big)
    print(f"computing the {big / GiB:g} GiB file's MD5 once (the emulated Zenodo lists it) ...", file=sys.stderr)
    world.digest(world.file(BIG_RECID, "big.bin"), "md5")
    rows: list[tuple[str, str, str]] = []
    with FakeInternet(world=world) as net, tempfile.TemporaryDirectory(prefix="doi2data-gw-bench-") as tmp:
        workdir = Path(tmp)
        proc, url = start_gateway(net, workdir)
        try:
            for doi in (DEMO_DOI, BIG_DOI):  # first requests resolve; everything after is cached
                assert httpx.get(f"{url}/{doi}", trust_env=False, timeout=60).status_code == 200
            if not args.streams_only:
                rows += manifest_rows(net, workdir, url, seconds, args.connections)
            env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
            direct_env = {**env, **net.env, "CURL_CA_BUNDLE": net.ca_file}
            origin = f"https://zenodo.org/api/records/{BIG_RECID}/files/big.bin/content"
            before = rss_kib(proc.pid)
            sampler = Sampler(proc.pid)
            sampler.start()
            pairs: list[tuple[float, float, float]] = []  # direct MB/s, zip MB/s, gateway MB per CPU-second
            zip_n = direct_n = 0
            for _ in range(max(1, args.repeat)):
                direct_s, direct_n = curl_seconds(origin, direct_env)
                cpu0 = cpu_seconds(proc.pid)
                zip_s, zip_n = curl_seconds(f"{url}/{BIG_DOI}?archive=zip", env)
                cpu = cpu_seconds(proc.pid) - cpu0
                pairs.append((direct_n / direct_s / 1e6, zip_n / zip_s / 1e6, zip_n / max(cpu, 1e-3) / 1e6))
            samples = sampler.stop()
            time.sleep(0.5)
            after = rss_kib(proc.pid)
            direct_mbps = statistics.median(p[0] for p in pairs)
            zip_mbps = statistics.median(p[1] for p in pairs)
            ratios = [100 * z / d for d, z, _ in pairs]
            rows.append(("direct download (curl via the proxy)", f"{direct_mbps:,.0f} MB/s",
                         f"{direct_n / GiB:.2f} GiB, median of {len(pairs)}: "
                         + ", ".join(f"{d:,.0f}" for d, _, _ in pairs)))
            rows.append(("zip through the gateway (curl)", f"{zip_mbps:,.0f} MB/s",
                         f"{zip_n / GiB:.2f} GiB, verified; median of {len(pairs)}: "
                         + ", ".join(f"{z:,.0f}" for _, z, _ in pairs)))
            rows.append(("zip / direct, pair by pair", f"{statistics.median(ratios):.0f} %",
                         "pairs: " + ", ".join(f"{r:.0f} %" for r in ratios) + " (target >= 80 %)"))
            per_cpu = statistics.median(p[2] for p in pairs)
            rows.append(("gateway CPU while streaming the zip", f"{per_cpu:,.0f} MB/cpu-s",
                         "MB per CPU-second of the gateway process (user + system)"))
            rows.append(("gateway RSS while streaming", f"{max(samples) / 1024:.0f} MiB peak",
                         f"before {before / 1024:.0f} MiB, after {after / 1024:.0f} MiB, "
                         f"{len(samples)} samples, spread {(max(samples) - min(samples)) / 1024:.1f} MiB"))
        finally:
            proc.terminate()
            proc.wait(15)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'result':>14}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    print(f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average at start "
          f"{load_before:.1f}, at end {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
