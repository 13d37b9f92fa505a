#!/usr/bin/env python
"""Remote-subset benchmark: bytes moved and requests made, against downloading the whole file.

Runs offline against the sandbox (emulated doi.org / DataCite / Zenodo behind the TLS proxy) in
this process - the numbers that matter are counted on the *server* side, from the sandbox's
request log (every request to a file's ``/content`` URL and the body bytes it was sent), so the
client's own counters are not trusted. Zenodo is served without its rate-limit headers (they
would only add waiting). Datasets (``--scale 1``, the issue's sizes; bytes are generated):

* a 2 GiB zip: 346 stored PILATUS 6M miniCBF frames (6.2 MB each) and 100 deflated logs;
* a NeXus file: 50 frames of 1024x1024 uint16, chunked per frame, gzip + shuffle;
* a series of 1,000 PILATUS 2M miniCBF files (2.5 MB each, 2.5 GB);
* a tar.gz of 100 PILATUS 300K frames (31 MB).

Targets (issue 6): one member of the 2 GiB zip <= 1.1 x member + 64 KiB; one HDF5 frame <= 3 x its
stored chunk; the frame table over 1,000 CBF headers <= 1 % of the series' bytes.

    python benchmarks/subsets.py                # full scale (~1-2 min, most of it hashing the server's md5s)
    python benchmarks/subsets.py --scale 0.05   # quick look (targets still checked)
    python benchmarks/subsets.py --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from doi2data.api import resolve
from doi2data.sandbox import FakeInternet, FileSpec, Record, World
from doi2data.sandbox.sites import zenodo as zenodo_site
from doi2data.sandbox.subsets_bytes import DEFLATED, LazyZip, ZipEntry
from doi2data.sandbox.subsets_cbf import PILATUS_2M, PILATUS_6M, PILATUS_300K, cbf_frame
from doi2data.sandbox.subsets_data import cbf_series, sweep_params
from doi2data.sandbox.subsets_hdf5 import Scan, nexus_scan
from doi2data.subset.common import find_entry
from doi2data.subset.frames import fetch_frames, frame_table
from doi2data.subset.hdf5extract import extract_hdf5
from doi2data.subset.ranges import UNLIMITED, RangeReader
from doi2data.subset.tarstream import extract_tar_members, list_tar_members
from doi2data.subset.zipremote import extract_zip_members, list_zip_members
from doi2data.transfer.engine import TransferOptions

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
ZIP_ID, H5_ID, CBF_ID, TAR_ID = "8100001", "8100002", "8100003", "8100004"


@dataclass(frozen=True)
class Layout:
    scale: float = 1.0

    @property
    def zip_frames(self) -> int:
        return max(4, round(346 * self.scale))

    @property
    def h5_frames(self) -> int:
        return max(4, round(50 * self.scale))

    @property
    def cbf_frames(self) -> int:
        return max(20, round(1000 * self.scale))

    @property
    def tar_frames(self) -> int:
        return max(10, round(100 * self.scale))


def build_world(layout: Layout) -> World:
    det6 = PILATUS_6M
    members = [ZipEntry("README.txt", b"PILATUS 6M sweep, zipped.\n" * 40, DEFLATED)]
    members += [ZipEntry(f"images/sweep_{i:05d}.cbf",
                         cbf_frame(det6, sweep_params(i, layout.zip_frames, det6), f"bench-zip:{i}"))
                for i in range(1, layout.zip_frames + 1)]
    members += [ZipEntry(f"logs/frame_{i:05d}.log", f"frame {i}: shutter open, ok\n".encode() * 30, DEFLATED)
                for i in range(1, 101)]
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w") as tar:
        for i in range(1, layout.tar_frames + 1):
            src = cbf_frame(PILATUS_300K, sweep_params(i, layout.tar_frames, PILATUS_300K), f"bench-tar:{i}")
            info = tarfile.TarInfo(f"frames/frame_{i:05d}.cbf")
            info.size, info.mtime = src.size, 1474366272
            tar.addfile(info, io.BytesIO(src.read(0, src.size)))
    scan = Scan(frames=layout.h5_frames, height=1024, width=1024, seed=7)

    def record(recid: str, title: str, files: tuple[FileSpec, ...]) -> Record:
        return Record(recid, str(int(recid) + 500), title, files=files, publication_date="2025-02-01")

    return World(records=[
        record(ZIP_ID, "Benchmark: a 2 GiB zip of frames", (FileSpec("sweep.zip", source=LazyZip(members)),)),
        record(H5_ID, "Benchmark: NeXus frames", (FileSpec("scan.h5", data=nexus_scan(scan)),)),
        record(CBF_ID, "Benchmark: 1,000 PILATUS frames", cbf_series(layout.cbf_frames, PILATUS_2M, seed="bench")),
        record(TAR_ID, "Benchmark: frames in a tar.gz",
               (FileSpec("frames.tar.gz", data=gzip.compress(tar_buf.getvalue(), 1, mtime=0)),)),
    ])


@dataclass
class Row:
    operation: str
    requests: int
    bytes_moved: int
    whole: int
    target: str = ""
    ok: bool | None = None
    seconds: float = 0.0
    client: int = 0  # bytes the client consumed (the server may have pushed more into socket buffers)

    @property
    def ratio(self) -> float:
        return self.bytes_moved / self.whole if self.whole else 0.0


class Meter:
    """Requests and body bytes of file content since the last :meth:`start`, from the request log."""

    def __init__(self, net: FakeInternet, layout: Layout, reader: RangeReader) -> None:
        self.net, self.layout, self.reader = net, layout, reader
        self.t0, self.c0 = 0.0, 0

    def start(self) -> None:
        self.net.clear_log()
        self.t0, self.c0 = time.perf_counter(), self.reader.bytes_received

    def row(self, operation: str, whole: int, limit: float | None = None, target: str = "") -> Row:
        seconds = time.perf_counter() - self.t0
        content = [r for r in self.net.log if r.path.endswith("/content")]
        moved = sum(r.bytes_sent for r in content)
        ok = None if limit is None else moved <= limit
        return Row(operation, len(content), moved, whole, target, ok, round(seconds, 2),
                   self.reader.bytes_received - self.c0)


def run(layout: Layout, work: Path) -> list[Row]:
    world = build_world(layout)
    t = time.perf_counter()
    for rec in world.records:  # the server's md5s for the listings, once, before measuring
        for spec in rec.files:
            world.digest(spec)
    print(f"(sandbox ready: server-side md5 of every file took {time.perf_counter() - t:.1f} s)", file=sys.stderr)
    zenodo = zenodo_site.make_app(world).app  # without the X-RateLimit-* wrapper
    rows: list[Row] = []
    with FakeInternet(world, sites={"zenodo.org": zenodo}) as net, net.activated(), \
            RangeReader(rates={"zenodo.org": UNLIMITED}, workers=16) as reader:
        meter = Meter(net, layout, reader)
        m = {rid: resolve(f"10.5281/zenodo.{rid}") for rid in (ZIP_ID, H5_ID, CBF_ID, TAR_ID)}
        rows += zip_rows(meter, reader, m[ZIP_ID], work)
        rows += hdf5_rows(meter, reader, m[H5_ID], work)
        rows += cbf_rows(meter, reader, m[CBF_ID], work)
        rows += tar_rows(meter, reader, m[TAR_ID], work)
    return rows


def zip_rows(meter: Meter, reader: RangeReader, manifest: Any, work: Path) -> list[Row]:
    entry = find_entry(manifest, "sweep.zip")
    size = entry.size or 0
    meter.start()
    listing = list_zip_members(entry, reader=reader, cache=False)
    rows = [meter.row(f"zip: list {len(listing.members)} members", size)]
    images = [m for m in listing.members if m.name.startswith("images/")]
    member = images[len(images) // 2]
    meter.start()
    fresh = list_zip_members(entry, reader=reader, cache=False)
    extract_zip_members(entry, work / "zip1", member.name, reader=reader, listing=fresh)
    limit = 1.1 * member.size + 64 * KiB
    rows.append(meter.row(f"zip: list + 1 member ({member.size / MiB:.1f} MiB)", size, limit,
                          f"<= 1.1 x member + 64 KiB = {limit / MiB:.2f} MiB"))
    names = [m.name for m in images][:10]
    meter.start()
    extract_zip_members(entry, work / "zip10", names, listing=listing, reader=reader)
    members = sum(m.compressed_size for m in listing.members if m.name in names)
    rows.append(meter.row("zip: 10 adjacent members (listing cached)", size, 1.01 * members + 64 * KiB,
                          "one coalesced request"))
    return rows


def hdf5_rows(meter: Meter, reader: RangeReader, manifest: Any, work: Path) -> list[Row]:
    import h5py

    entry = find_entry(manifest, "scan.h5")
    size = entry.size or 0
    rows = []
    n = int(meter.layout.h5_frames)
    one, lo = n // 2, n // 5
    hi = min(n, lo + 10)
    for label, spec in ((f"hdf5: 1 frame [{one}]", f"[{one}]"), (f"hdf5: {hi - lo} frames [{lo}:{hi}]", f"[{lo}:{hi}]"),
                        (f"hdf5: 64x64 ROI of frame {n // 3}", f"[{n // 3}, 480:544, 480:544]")):
        meter.start()
        report = extract_hdf5(manifest, f"scan.h5:/entry/data/data{spec}", work / "h5", reader=reader)
        with h5py.File(work / "h5" / report.written[0].local) as out:
            frames = out["entry/data/data"].shape[0]
        limit, target = None, ""
        if spec == f"[{one}]":
            with h5py.File(io.BytesIO(meter.net.world.file_bytes(H5_ID, "scan.h5"))) as src:
                chunk = src["entry/data/data"].id.get_chunk_info_by_coord((one, 0, 0)).size
            limit, target = 3 * chunk, f"<= 3 x chunk ({chunk / KiB:.0f} KiB) = {3 * chunk / KiB:.0f} KiB"
        rows.append(meter.row(f"{label} -> {frames} frame(s)", size, limit, target))
    return rows


def cbf_rows(meter: Meter, reader: RangeReader, manifest: Any, work: Path) -> list[Row]:
    total = manifest.total_size
    meter.start()
    table = frame_table(manifest, reader=reader, cache=work / "frames.sqlite")
    rows = [meter.row(f"frames: table of {len(table.frames):,} CBF headers", total, 0.01 * total,
                      "<= 1 % of the series")]
    meter.start()
    frame_table(manifest, reader=reader, cache=work / "frames.sqlite")
    rows.append(meter.row("frames: same table again (SQLite cache)", total, 0, "no request"))
    query = "omega >= 90 and omega < 93 and chi == 0"
    chosen = table.query(query)
    meter.start()
    fetch_frames(manifest, query, work / "cbf", reader=reader, table=table,
                 options=TransferOptions(rates={"zenodo.org": UNLIMITED}))
    wanted = sum(e.size or 0 for e in manifest.files if e.path in {f.file for f in chosen})
    rows.append(meter.row(f"frames: fetch '{query}' ({len(chosen)} files)", total, wanted * 1.001,
                          "exactly the matching files"))
    return rows


def tar_rows(meter: Meter, reader: RangeReader, manifest: Any, work: Path) -> list[Row]:
    entry = find_entry(manifest, "frames.tar.gz")
    size = entry.size or 0
    meter.start()
    members = list_tar_members(entry, reader=reader)
    rows = [meter.row(f"tar.gz: list {len(members)} members (streams it all)", size)]
    name = members[len(members) // 2].name
    meter.start()
    extract_tar_members(entry, work / "tar", name, reader=reader)
    rows.append(meter.row("tar.gz: 1 member in the middle (stops after it)", size))
    return rows


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def print_table(rows: list[Row]) -> None:
    head = ("operation", "requests", "bytes moved", "client read", "whole file(s)", "ratio", "target", "ok", "s")
    cells = [(r.operation, str(r.requests), human(r.bytes_moved),
              human(r.client) if r.client or not r.bytes_moved else "(engine)", human(r.whole), f"{r.ratio:.4%}",
              r.target, "" if r.ok is None else ("yes" if r.ok else "NO"), f"{r.seconds:.2f}") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    line = " | ".join(h.ljust(w) for h, w in zip(head, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for c in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(c, widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="doi2data-bench-subsets-") as tmp:
        rows = run(Layout(args.scale), Path(tmp))
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "ratio": r.ratio} for r in rows], indent=2))
    failed = [r.operation for r in rows if r.ok is False]
    if failed:
        print("targets missed: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
