#!/usr/bin/env python
"""Scale benchmark: time and peak memory of listing, planning, verifying and serving N files.

For each N (``--sizes``; default 10,000 and 100,000, ``--sizes 10000,100000,1000000`` for the
million) and each generated record it runs, every one in its own process:

* ``ls --json`` and ``ls --format ndjson`` (stdout drained; time to the first line too);
* ``get`` into a folder where every file is already present (zero bytes, the empty file's digest):
  the planning phase of a download, no byte transferred;
* ``verify`` of that folder;
* the gateway: ``doi2data serve`` started fresh (``--max-api-body 2GiB``: its default, 64 MiB,
  refuses the 1,000,000-file Zenodo body of ~170 MB; for the web tree the ``--max-entries`` the other
  commands get), one ``GET /{doi}`` (JSON), its peak RSS; an answer listing fewer than N files is
  reported as a failure.

Records, served by the sandbox (emulated doi.org / DataCite behind its TLS proxy) in a separate
server process (``--serve``), bodies generated once per N and cached in that process:

* ``zenodo``: a Zenodo record (``/api/records/<id>``) with all N files inline in one JSON body
  (``key``, ``size`` 0, ``checksum`` ``md5:…``, ``id``) - the "single large JSON" case;
* ``scicat``: a SciCat v3 publication of N/10,000 datasets, each with origdatablocks of 1,000
  files (``chk`` sha256) - the paged case;
* ``web``: an nginx ``autoindex`` tree (folders of 1,000 files) behind a DOI whose landing page is
  the folder itself (needs the generic directory-listing layer; shown as refused without it).

Peak RSS is GNU time's ``%M`` (the child's own high-water mark; ``ru_maxrss`` of a child forked
from this driver would inherit the driver's). For the gateway it is ``VmHWM`` from ``/proc``
after the request. "B/file" is peak RSS divided by N.

    python benchmarks/scale.py                          # 10k and 100k, every record (~5 min)
    python benchmarks/scale.py --sizes 1000000 --records zenodo
    python benchmarks/scale.py --sizes 10000 --ops ls-json,ls-ndjson
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EMPTY_MD5 = hashlib.md5(b"").hexdigest()
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
RECID = "8100001"
ZENODO_DOI = f"10.5281/zenodo.{RECID}"
SCICAT_HOST = "scicat-scale.example.org"
SCICAT_DOI = "10.5072/scicat-scale-0001"
WEB_HOST = "webtree.example.net"
WEB_DOI = "10.5072/webtree-0001"
WEB_ROOT = "/pub/tree/"
PER_DIR = 1000
PER_DATASET = 10_000
PER_BLOCK = 1000
ALL_RECORDS = ("zenodo", "scicat", "web")
#: ``get`` on the web tree is a real download (an autoindex gives no checksums and no exact sizes, so
#: a present file cannot be trusted): 10,000 files took 201 s here; larger trees are skipped unless asked
WEB_GET_MAX = 10_000
ALL_OPS = ("ls-json", "ls-ndjson", "get-plan", "verify", "gateway")


def file_key(i: int) -> str:
    return f"d{i // PER_DIR:04d}/f{i:07d}.bin"


# --------------------------------------------------------------------------------------------
# the server process
# --------------------------------------------------------------------------------------------
def _zenodo_body(n: int) -> bytes:
    head = {"id": int(RECID), "conceptrecid": str(int(RECID) - 1), "doi": ZENODO_DOI,
            "metadata": {"title": f"Scale benchmark: {n:,} files", "doi": ZENODO_DOI, "publication_date": "2025-01-15",
                         "creators": [{"name": "Bench, Mark"}], "resource_type": {"type": "dataset"},
                         "access_right": "open", "license": {"id": "cc-by-4.0"}},
            "links": {"self": f"https://zenodo.org/api/records/{RECID}"}}
    parts = [json.dumps(head)[:-1].encode(), b', "files": {"enabled": true, "entries": [']
    for i in range(n):
        key = file_key(i)
        parts.append((", " if i else "").encode() + json.dumps(
            {"id": f"{i:08x}-0000-4000-8000-000000000000", "key": key, "size": 0, "checksum": f"md5:{EMPTY_MD5}",
             "mimetype": "application/octet-stream", "status": "completed"}).encode())
    parts.append(b"]}}")
    return b"".join(parts)


def _scicat_blocks(n: int, ds: int) -> bytes:
    start, stop = ds * PER_DATASET, min(n, (ds + 1) * PER_DATASET)
    blocks = []
    for b in range(start, stop, PER_BLOCK):
        files = [{"path": f"f{i:07d}.bin", "size": 0, "time": "2024-01-25T18:34:00.000Z", "chk": EMPTY_SHA256,
                  "uid": "e1234", "gid": "p1", "perm": "-rw-r--r--"} for i in range(b, min(stop, b + PER_BLOCK))]
        blocks.append({"_id": f"block-{ds}-{b}", "datasetId": f"20.500.99999/scale-{ds:04d}", "size": 0,
                       "chkAlg": "sha256", "dataFileList": files})
    return json.dumps(blocks).encode()


def _autoindex(title: str, names: list[str]) -> bytes:
    rows = "".join(f'<a href="{name}">{name}</a>{" " * max(1, 51 - len(name))}15-Jan-2025 10:00{"-" if name.endswith("/") else "0":>20}\n'
                   for name in names)
    return (f"<html>\r\n<head><title>Index of {title}</title></head>\r\n<body>\r\n<h1>Index of {title}</h1>"
            f'<hr><pre><a href="../">../</a>\n{rows}</pre><hr></body>\r\n</html>\r\n').encode()


def serve(n: int) -> int:
    """Run the sandbox with the three generated records; print the env as one JSON line; wait on stdin."""
    from starlette.responses import Response

    from doi2data.sandbox import ExternalDataset, FakeInternet, Record, World
    from doi2data.sandbox.sites import scicat
    from doi2data.sandbox.sites import zenodo as zenodo_site

    datasets = max(1, -(-n // PER_DATASET))
    world = World(records=[Record(RECID, str(int(RECID) - 1), f"Scale benchmark: {n:,} files", files=(),
                                  publication_date="2025-01-15")],
                  external=[ExternalDataset(SCICAT_DOI, f"https://{SCICAT_HOST}/detail/{SCICAT_DOI}", "SciCat scale"),
                            ExternalDataset(WEB_DOI, f"https://{WEB_HOST}{WEB_ROOT}", "Web folder scale")])
    cache: dict[str, bytes] = {}

    def cached(key: str, make: Any) -> bytes:
        if key not in cache:
            cache[key] = make()
        return cache[key]

    zenodo = zenodo_site.make_app(world).app  # without the rate-limit headers

    async def zenodo_front(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("path") == f"/api/records/{RECID}":
            body = cached("zenodo", lambda: _zenodo_body(n))
            await Response(body, media_type="application/json")(scope, receive, send)
            return
        await zenodo(scope, receive, send)

    pub = scicat.Pub(SCICAT_DOI, "SciCat scale", ("Bench, Mark",), "Example Facility", 2024,
                     tuple(f"20.500.99999/scale-{d:04d}" for d in range(datasets)),
                     f"https://files.{SCICAT_HOST}/data/", 0, n, versions=frozenset({"v3"}))
    sets = [scicat.Set(f"20.500.99999/scale-{d:04d}", f"/data/scale/set{d:04d}") for d in range(datasets)]
    site = scicat.ScicatSite(world, [pub], sets)

    async def scicat_front(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") == "http" and path.lower().endswith("/origdatablocks") and "/scale-" in path:
            ds = int(path.rsplit("/scale-", 1)[1].split("/", 1)[0])
            body = cached(f"scicat{ds}", lambda: _scicat_blocks(n, ds))
            await Response(body, media_type="application/json")(scope, receive, send)
            return
        await site(scope, receive, send)

    async def web(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path == WEB_ROOT:
            names = [f"d{d:04d}/" for d in range(-(-n // PER_DIR))]
            body = cached("web", lambda: _autoindex(WEB_ROOT, names))
        elif path.startswith(WEB_ROOT + "d") and path.endswith("/"):
            d = int(path[len(WEB_ROOT) + 1:-1])
            body = cached(f"web{d}", lambda: _autoindex(path, [f"f{i:07d}.bin" for i in
                                                               range(d * PER_DIR, min(n, (d + 1) * PER_DIR))]))
        else:
            await Response(b"", status_code=200 if path.startswith(WEB_ROOT) else 404)(scope, receive, send)
            return
        await Response(body, media_type="text/html", headers={"Server": "nginx/1.24.0"})(scope, receive, send)

    net = FakeInternet(world=world, sites={"zenodo.org": zenodo_front, SCICAT_HOST: scicat_front, WEB_HOST: web})
    net.start()
    env = dict(net.env)
    env.update(CURL_CA_BUNDLE=net.ca_file, REQUESTS_CA_BUNDLE=net.ca_file)
    sys.stdout.write(json.dumps({"env": env, "hosts": list(net.hosts)}) + "\n")
    sys.stdout.flush()
    try:
        sys.stdin.read()  # until the driver goes away
    finally:
        net.stop()
    return 0


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------
def timed(cmd: list[str], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """Run ``cmd`` under GNU time; drain stdout, noting when the first line arrived."""
    stats = workdir / "time.txt"
    errors = workdir / "stderr.txt"
    started = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M %e", "-o", str(stats), *cmd], env=env,
                            stdout=subprocess.PIPE, stderr=errors.open("wb"))
    assert proc.stdout is not None
    first = None
    total = 0
    while chunk := proc.stdout.read1(1 << 16):
        if first is None:
            first = time.perf_counter() - started
        total += len(chunk)
    rc = proc.wait()
    fields = stats.read_text().split()
    err = errors.read_text(errors="replace").strip().splitlines()
    return {"rc": rc, "rss_kib": int(fields[-2]), "seconds": float(fields[-1]), "first_s": first, "out_bytes": total,
            "error": err[-1][:160] if rc and err else None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def gateway(doi: str, env: dict[str, str], hosts: list[str], workdir: Path, more: list[str]) -> dict[str, Any]:
    """A fresh ``doi2data serve`` (``more``: extra flags); one JSON manifest request; VmHWM after it;
    ``files``: the ``file_count`` the answer gives (it comes before the file list)."""
    import re

    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "doi2data", "serve", "--port", str(port), "--cache", str(workdir / "cache.sqlite"),
           "--rate", "0", "--max-api-body", "2GiB", *(a for h in hosts for a in ("--allow-host", h)), *more]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "gateway.err").open("wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", trust_env=False, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    return {"rc": 1, "rss_kib": 0, "seconds": 0.0, "first_s": None, "out_bytes": 0,
                            "error": "gateway did not start"}
                time.sleep(0.2)
        base = vm_hwm_kib(proc.pid)
        started = time.perf_counter()
        first = None
        total = 0
        status = 0
        head = bytearray()
        with httpx.stream("GET", f"{url}/{doi}", headers={"Accept": "application/json"}, trust_env=False,
                          timeout=900) as response:
            status = response.status_code
            for chunk in response.iter_bytes():
                if first is None:
                    first = time.perf_counter() - started
                total += len(chunk)
                if len(head) < 1 << 16:
                    head += chunk[: (1 << 16) - len(head)]
        seconds = time.perf_counter() - started
        count = re.search(rb'"file_count": ?(\d+)', head)  # the gateway writes compact JSON
        return {"rc": 0 if status == 200 else status, "rss_kib": vm_hwm_kib(proc.pid), "base_kib": base,
                "seconds": round(seconds, 2), "first_s": first, "out_bytes": total,
                "files": int(count.group(1)) if count else None,
                "error": None if status == 200 else f"HTTP {status}"}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def local_paths(listing: Path) -> list[str]:
    return [json.loads(line)["path"] for line in listing.read_text().splitlines() if line.strip()]


def make_tree(dest: Path, paths: list[str]) -> None:
    """Every file present with zero bytes (what the generated records list): nothing to download."""
    made: set[str] = set()
    for rel in paths:
        parent = rel.rpartition("/")[0]
        if parent not in made:
            (dest / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        (dest / rel).touch()


def save_listing(py: list[str], what: list[str], env: dict[str, str], listing: Path, n: int) -> None:
    """The record's ndjson listing, for the tree: complete, or the benchmark stops (a tree built from
    a listing cut short would make ``get`` download the missing files and time that instead)."""
    with listing.open("wb") as out:
        subprocess.run([*py, "ls", *what, "--format", "ndjson", "--no-stream"], env=env, stdout=out, check=True)
    with listing.open("rb") as lines:
        count = sum(1 for _ in lines)
    if count != n:
        listing.unlink()
        raise SystemExit(f"the listing of {what[0]} has {count} files, not {n}: not building a tree from it")


def run_record(name: str, doi: str, n: int, ops: list[str], env: dict[str, str], hosts: list[str],
               workdir: Path) -> list[dict[str, Any]]:
    rows = []
    py = [sys.executable, "-m", "doi2data"]
    # the tree's folders count as entries too: the default --max-entries (1,000,000) would cut a million-file tree
    more = ["--max-entries", str(n + n // PER_DIR + 100)] if name == "web" else []
    listing = workdir / f"{name}-{n}.ndjson"
    for op in ops:
        cell = workdir / f"{name}-{n}-{op}"
        cell.mkdir(parents=True, exist_ok=True)
        if op == "ls-json":
            result = timed([*py, "ls", doi, "--json", *more], env, cell)
        elif op == "ls-ndjson":
            result = timed([*py, "ls", doi, "--format", "ndjson", *more], env, cell)
            if result["rc"] == 0:  # keep the listing for the tree (a second, unmeasured run)
                save_listing([*py], [doi, *more], env, listing, n)
        elif op == "get-plan" and name == "web" and n > WEB_GET_MAX:
            print(f"  {name:7s} {n:>9,} {op:10s} skipped: no checksums or exact sizes in the listing, so get "
                  f"downloads every file again (--web-get-max)", file=sys.stderr, flush=True)
            continue
        elif op in ("get-plan", "verify"):
            tree = workdir / f"{name}-{n}-tree"
            if not tree.exists():
                if not listing.exists():
                    save_listing([*py], [doi, *more], env, listing, n)
                make_tree(tree, local_paths(listing))
            result = timed([*py, "get", doi, str(tree), "-q", "--rate", "zenodo.org=0", *more] if op == "get-plan" else
                           [*py, "verify", doi, str(tree), *more], env, cell)
        else:
            result = gateway(doi, env, hosts, cell, more)
            if result["rc"] == 0 and result["files"] != n:  # a listing cut short is not the measurement asked for
                result.update(rc=1, error=f"the gateway listed {result['files']} files, not {n}")
        result.update(record=name, n=n, op=op)
        rows.append(result)
        print(f"  {name:7s} {n:>9,} {op:10s} {fmt_row(result)}", file=sys.stderr, flush=True)
    return rows


def fmt_row(r: dict[str, Any]) -> str:
    if r["rc"] and not r.get("rss_kib"):
        return f"failed: {r.get('error')}"
    mb = r["rss_kib"] / 1024
    per = r["rss_kib"] * 1024 / r["n"]
    first = f"{r['first_s']:.1f}" if r.get("first_s") is not None else "-"
    note = f"  (exit {r['rc']}: {r.get('error')})" if r["rc"] else ""
    return f"{r['seconds']:7.1f} s {mb:8.0f} MB {per:8.0f} B/file  first {first} s{note}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| record | files | operation | time (s) | first output (s) | peak RSS (MB) | RSS per file (B) | result |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = "ok" if r["rc"] == 0 else f"exit {r['rc']}: {r.get('error') or ''}"[:90]
        first = f"{r['first_s']:.1f}" if r.get("first_s") is not None else "-"
        lines.append(f"| {r['record']} | {r['n']:,} | {r['op']} | {r['seconds']:.1f} | {first} | "
                     f"{r['rss_kib'] / 1024:.0f} | {r['rss_kib'] * 1024 / r['n']:.0f} | {ok} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated file counts (1000000 on request)")
    parser.add_argument("--records", default=",".join(ALL_RECORDS), help=f"any of {','.join(ALL_RECORDS)}")
    parser.add_argument("--ops", default=",".join(ALL_OPS), help=f"any of {','.join(ALL_OPS)}")
    parser.add_argument("--json", metavar="FILE", help="also write the raw rows as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (trees, listings)")
    parser.add_argument("--web-get-max", type=int, default=WEB_GET_MAX, metavar="N",
                        help="largest web tree to run get on (a real download: no checksums to trust)")
    parser.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    globals()["WEB_GET_MAX"] = args.web_get_max
    if args.serve:
        return serve(args.serve)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    records = [r for r in args.records.split(",") if r]
    ops = [o for o in args.ops.split(",") if o]
    dois = {"zenodo": ZENODO_DOI, "scicat": SCICAT_DOI, "web": WEB_DOI}
    workdir = Path(tempfile.mkdtemp(prefix="doi2data-scale-"))
    rows: list[dict[str, Any]] = []
    try:
        for n in sizes:
            server = subprocess.Popen([sys.executable, __file__, "--serve", str(n)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            try:
                assert server.stdout is not None
                hello = json.loads(server.stdout.readline())
                env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
                env.update(hello["env"])
                for name in records:
                    rows += run_record(name, dois[name], n, ops, env, hello["hosts"], workdir / str(n))
            finally:
                if server.stdin:
                    server.stdin.close()
                server.wait(30)
            if not args.keep:
                shutil.rmtree(workdir / str(n), ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
