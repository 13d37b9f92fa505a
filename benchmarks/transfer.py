#!/usr/bin/env python
"""Transfer benchmark: doi2data against aria2c, curl, wget, zenodo_get and datahugger.

Everything runs in one go on this machine, offline, against the sandbox (emulated doi.org /
DataCite / Zenodo behind a TLS-terminating proxy, see ``doi2data.sandbox``) started in its own
process (``benchmarks/_bench_world.py``), so the client under test and the server never share a
GIL. Every tool goes through the same proxy and trusts the same throwaway CA.

Scenarios (``--scale`` shrinks the datasets; 1 = the sizes below):

* ``a``  2,000 x 1 MiB files          WAN profile (``--latency-ms`` per request, ``--cap-mbps`` per connection)
* ``b``  1 x 2 GiB file               WAN profile
* ``c``  20,000 x 10 KiB files        WAN profile
* ``d``  the 2 GiB file, SIGKILLed at 50 % (by the server's byte counter), then resumed; WAN profile
* ``t``  the 2 GiB file with no latency and no cap (throughput against the disk's write rate)

Measured per run: wall time, bytes the server sent for file content (from the sandbox's request
log), peak RSS and CPU seconds of the tool (``os.wait4`` rusage, the same numbers as
``/usr/bin/time -f %M``), and the server process's CPU share (from ``/proc``), which tells when the
sandbox, not the client, is the bottleneck. The run also measures this machine's disk write rate
(``dd conv=fdatasync``) and the sandbox's ceiling with curl (1 and 8 connections, no quirks).

    python benchmarks/transfer.py                       # full scale, every tool found (~20 min)
    python benchmarks/transfer.py --scale 0.05          # quick look
    python benchmarks/transfer.py --scale 0.002 --tools doi2data,curl --scenarios a,d

Missing tools are skipped with the command that installs them.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench_world import GiB, MiB, RECID_A, RECID_BIG, RECID_C, Layout  # noqa: E402

ALL_TOOLS = ("doi2data", "aria2c", "curl", "wget", "zenodo_get", "datahugger")
ALL_SCENARIOS = ("a", "b", "c", "d", "t")
RESUMABLE = ("doi2data", "aria2c", "wget", "curl")  # (d): tools with a resume mode
MUST_FINISH = ("doi2data", "aria2c")  # the tool under test and the reference: never cut by --timeout
PY_TOOLS_VENV = Path(os.environ.get("DOI2DATA_BENCH_VENV", Path.home() / ".cache" / "doi2data-bench" / "venv"))
INSTALL_HINTS = {
    "aria2c": "apt-get update && apt-get install -y aria2",
    "curl": "apt-get update && apt-get install -y curl",
    "wget": "apt-get update && apt-get install -y wget",
    "zenodo_get": f"python benchmarks/transfer.py --install-python-tools   (pip install zenodo_get into {PY_TOOLS_VENV})",
    "datahugger": f"python benchmarks/transfer.py --install-python-tools   (pip install datahugger into {PY_TOOLS_VENV})",
}
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --------------------------------------------------------------------------------------------
# the sandbox process
# --------------------------------------------------------------------------------------------
def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine spent busy so far (``/proc/stat``), or NaN."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / TICK
    except (OSError, ValueError, IndexError):
        return float("nan")


class Sandbox:
    """``_bench_world.py`` in a child process, steered with one JSON line per command."""

    def __init__(self, scale: float, log: Path, as_is: bool = False) -> None:
        self._log = log.open("wb")
        extra = ["--no-nodelay-fix"] if as_is else []
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_bench_world.py"), "--scale", repr(scale), *extra],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, bufsize=1)
        self._lock = threading.Lock()
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise RuntimeError(f"the sandbox did not start; see {log}")
        self.hello: dict[str, Any] = json.loads(line)
        self.env: dict[str, str] = self.hello["env"]
        self.ca_file: str = self.hello["ca_file"]

    def __call__(self, cmd: str, **kw: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        with self._lock:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"sandbox: {reply['error']}")
        return reply

    def cpu_seconds(self) -> float:
        """User+system CPU of the server process so far (all its threads)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            return float("nan")

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self._log.close()


# --------------------------------------------------------------------------------------------
# running one tool
# --------------------------------------------------------------------------------------------
@dataclass
class Proc:
    wall: float
    rc: int | None
    rss_kb: int | None
    cpu: float | None
    stopped: str | None  # "timeout" | "killed" | None
    log: str


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_process(argv: list[str], *, env: dict[str, str], cwd: Path, log: Path, timeout: float | None = None,
                stop: Callable[[], bool] | None = None, poll: float = 0.05) -> Proc:
    """Run ``argv`` in its own process group; SIGKILL the group on ``timeout`` or when ``stop()``.

    Peak RSS and CPU come from ``/usr/bin/time -f %M`` (GNU time forks from a 2 MB process, so the
    number is the tool's own). Without it, the tool's ``VmHWM`` is sampled from ``/proc`` every
    ``poll`` seconds (``os.wait4``'s ``ru_maxrss`` would not do: a child forked from this Python
    process inherits its high-water mark).
    """
    usage_file = log.with_suffix(".time")
    usage_file.unlink(missing_ok=True)
    wrapped = [TIME, "-f", "%M %U %S", "-o", str(usage_file), *argv] if TIME else argv
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    stopped: str | None = None
    hwm = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if not TIME:
            hwm = max(hwm, _vm_hwm_kb(proc.pid))
        if stopped is None:
            if timeout is not None and time.perf_counter() - started > timeout:
                stopped = "timeout"
            elif stop is not None and stop():
                stopped = "killed"
            if stopped:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(poll)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    with _suppress():
        os.killpg(proc.pid, signal.SIGKILL)  # anything the tool left behind in its group
    rss: int | None = hwm or None
    cpu = usage.ru_utime + usage.ru_stime
    if TIME and not stopped:
        try:
            last = usage_file.read_text().strip().splitlines()[-1].split()
            rss, cpu = int(last[0]), float(last[1]) + float(last[2])
        except (OSError, IndexError, ValueError):
            rss = None
    tail = log.read_bytes()[-600:].decode("utf-8", "replace").strip()
    # a stopped run's numbers would be those of /usr/bin/time itself, not of the tool
    return Proc(wall, proc.returncode, rss if not stopped else None, None if stopped and TIME else cpu, stopped, tail)


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _suppress() -> contextlib.suppress:
    return contextlib.suppress(ProcessLookupError, PermissionError)


# --------------------------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    key: str
    recid: str
    count: int
    size: int  # per file
    aria2: Path
    urls: Path
    curl: Path

    @property
    def doi(self) -> str:
        return f"10.5281/zenodo.{self.recid}"

    @property
    def total(self) -> int:
        return self.count * self.size


def d2d_flags(args: argparse.Namespace) -> list[str]:
    return ["--jobs", str(args.jobs), "--per-host", str(args.per_host), "--segments", str(args.segments)]


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidate = PY_TOOLS_VENV / "bin" / name
    return str(candidate) if candidate.exists() else None


def tool_version(name: str, path: str) -> str:
    args = {"doi2data": [sys.executable, "-m", "doi2data", "--version"], "datahugger": [path, "-V"]}
    try:
        out = subprocess.run(args.get(name, [path, "--version"]), capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


class Tools:
    def __init__(self, args: argparse.Namespace, sandbox: Sandbox) -> None:
        self.args, self.sb = args, sandbox
        self.paths: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        for name in args.tools:
            path = sys.executable if name == "doi2data" else find_tool(name)
            if path:
                self.paths[name] = path
            else:
                self.missing[name] = INSTALL_HINTS.get(name, "?")
        self.versions = {n: tool_version(n, p) for n, p in self.paths.items()}

    def argv(self, name: str, ds: Dataset, dest: Path, *, resume: bool = False, default_limits: bool = False) -> list[str]:
        path, ca = self.paths[name], self.sb.ca_file
        if name == "doi2data":
            rate = [] if default_limits else ["--rate", "zenodo.org=0"]
            return [path, "-m", "doi2data", "get", ds.doi, str(dest), "-q", *d2d_flags(self.args), *rate]
        if name == "aria2c":
            return [path, "-j16", "-x8", "-i", str(ds.aria2), "-d", str(dest), f"--ca-certificate={ca}", "-q",
                    *(["-c"] if resume else [])]
        if name == "curl":
            return [path, "-sS", "--fail", "--parallel", "--parallel-max", "16", "--create-dirs",
                    *(["-C", "-"] if resume else []), "-K", str(ds.curl)]
        if name == "wget":
            return [path, "-q", "-x", "-nH", "-P", str(dest), f"--ca-certificate={ca}", "-i", str(ds.urls),
                    *(["-c"] if resume else [])]
        if name == "zenodo_get":
            return [path, "-v", "0", "-o", str(dest), ds.doi]
        if name == "datahugger":
            return [path, "--no-progress", ds.doi, str(dest)]
        raise KeyError(name)


def make_lists(sb: Sandbox, work: Path, key: str, recid: str, count: int, size: int) -> tuple[Dataset, float]:
    """``doi2data ls --format aria2`` / ``--format urls`` (and a curl config made from the aria2 list)."""
    env = {**os.environ, **sb.env}
    doi = f"10.5281/zenodo.{recid}"
    started = time.perf_counter()
    files = {}
    for fmt in ("aria2", "urls"):
        out = subprocess.run([sys.executable, "-m", "doi2data", "ls", doi, "--format", fmt], env=env,
                             capture_output=True, text=True, check=True)
        files[fmt] = work / f"{key}.{fmt}.txt"
        files[fmt].write_text(out.stdout)
    listing = (time.perf_counter() - started) / 2
    lines = files["aria2"].read_text().splitlines()
    pairs, url = [], None
    for line in lines:
        if not line.startswith(" "):
            url = line.split("\t")[0]
        elif line.strip().startswith("out=") and url:
            pairs.append((url, line.strip()[4:]))
    dest_marker = "@DEST@"
    curl_cfg = work / f"{key}.curl.txt"
    curl_cfg.write_text("".join(f'url = "{u}"\noutput = "{dest_marker}/{o}"\n' for u, o in pairs))
    if len(pairs) != count:
        raise RuntimeError(f"doi2data ls listed {len(pairs)} files for {doi}, expected {count}")
    return Dataset(key, recid, count, size, files["aria2"], files["urls"], curl_cfg), listing


def curl_config_for(ds: Dataset, dest: Path) -> Dataset:
    cfg = ds.curl.with_name(f"{ds.key}.curl.{dest.name}.txt")
    cfg.write_text(ds.curl.read_text().replace("@DEST@", str(dest)))
    return Dataset(ds.key, ds.recid, ds.count, ds.size, ds.aria2, ds.urls, cfg)


def scan(dest: Path, size: int) -> tuple[int, list[Path]]:
    """Files under ``dest`` with exactly ``size`` bytes (tool state and control files ignored)."""
    found = []
    for root, dirs, names in os.walk(dest):
        dirs[:] = [d for d in dirs if d != ".doi2data"]
        for n in names:
            p = Path(root, n)
            if not n.endswith(".aria2") and p.stat().st_size == size:
                found.append(p)
    return len(found), found


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(4 << 20):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class Result:
    scenario: str
    tool: str
    seconds: float | None = None          # wall time (resume only, for d)
    estimate: float | None = None         # extrapolated full time when stopped by --timeout
    mbps: float | None = None
    sent: int | None = None               # content bytes the server sent (both runs for d)
    extra: int | None = None              # sent - payload (for d: bytes re-sent)
    rss_mb: float | None = None
    cpu: float | None = None              # tool CPU seconds
    server_cpu: float | None = None       # server CPU share of one core during the run
    others: float | None = None           # CPU (in cores) used by everything else on the machine
    requests: int | None = None
    complete: str = ""                    # files complete / expected
    ok: bool = False
    note: str = ""
    extra_info: dict[str, Any] = field(default_factory=dict)


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    if abs(n) >= 10 * MiB:
        return f"{n / MiB:,.0f} MiB"
    if abs(n) >= MiB:
        return f"{n / MiB:.1f} MiB"
    if abs(n) >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} B"


def fmt_s(r: Result) -> str:
    if r.seconds is None:
        return "–"
    if r.estimate is not None:
        return f">{r.seconds:.0f} (~{r.estimate:.0f})" if r.estimate != float("inf") else f">{r.seconds:.0f}"
    return f"{r.seconds:.1f}" if r.seconds < 100 else f"{r.seconds:.0f}"


# --------------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.layout = Layout(args.scale)
        self.work = Path(tempfile.mkdtemp(prefix="doi2data-bench-", dir=args.workdir))
        self.results: list[Result] = []
        self.context: dict[str, Any] = {}
        self.notes: list[str] = []
        self.cap = args.cap_mbps * 1e6 / 8 if args.cap_mbps else None  # bytes/s per connection
        self.last_others = 0.0
        self.latency = args.latency_ms / 1000

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    # context measurements ----------------------------------------------------------------
    def disk_rate(self) -> float:
        size_mib = int(min(1024, max(64, 1024 * self.args.scale)))
        target = self.work / "disk-rate.bin"
        started = time.perf_counter()
        if shutil.which("dd"):
            subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={size_mib}", "conv=fdatasync"],
                           check=True, capture_output=True)
            how = f"dd bs=1M count={size_mib} conv=fdatasync"
        else:
            block = os.urandom(MiB)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                for _ in range(size_mib):
                    os.write(fd, block)
                os.fsync(fd)
            finally:
                os.close(fd)
            how = f"python write+fsync of {size_mib} MiB"
        rate = size_mib * MiB / (time.perf_counter() - started) / 1e6
        target.unlink()
        runs = self.context.setdefault("disk_runs", [])
        runs.append(round(rate, 1))
        self.context["disk"] = {"MBps": max(runs), "how": how, "runs": runs}
        if shutil.which("dd"):  # the device itself, past the page cache (O_DIRECT): context, not the target
            started = time.perf_counter()
            done = subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=4M", f"count={size_mib // 4}",
                                   "oflag=direct"], capture_output=True)
            direct = size_mib * MiB / (time.perf_counter() - started) / 1e6
            target.unlink(missing_ok=True)
            if done.returncode == 0:
                self.context.setdefault("disk_direct_runs", []).append(round(direct, 1))
        return rate

    def retire(self, dest: Path) -> None:
        """Free a finished run's disk space now, but delete its files only at the end of the benchmark.

        Why: on ext4 without a journal (this machine's disk) an inode freed in the last minute is
        skipped, one by one, when a new file is created (``recently_deleted``): right after 20,000
        files were deleted, creating 20,000 more cost the *next* tool seconds of kernel time. Each
        tool would pay for its predecessor's clean-up. Emptying the files keeps their inodes.
        """
        retired = self.work / "retired"
        retired.mkdir(exist_ok=True)
        for root, _dirs, names in os.walk(dest):
            for name in names:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.truncate(path, 0)
        if dest.exists():
            dest.rename(retired / f"{dest.name}-{len(list(retired.iterdir()))}")

    def md5_rate(self) -> float:
        """MB/s of one core hashing md5 (the checksum Zenodo lists, which every verifying tool must compute)."""
        block = os.urandom(64 * MiB)
        started = time.perf_counter()
        digest = hashlib.md5()
        for _ in range(4):
            digest.update(block)
        rate = 4 * len(block) / (time.perf_counter() - started) / 1e6
        self.context["md5_MBps"] = max(rate, self.context.get("md5_MBps", 0.0))
        return rate

    def server_ceiling(self, sb: Sandbox) -> None:
        """curl, no quirks: one connection on the whole big file, then 8 connections on 8 ranges."""
        curl = shutil.which("curl")
        if not curl:
            self.context["ceiling"] = {"note": "curl not installed: " + INSTALL_HINTS["curl"]}
            return
        sb("profile", latency=0, rate=None)
        url = f"https://zenodo.org/api/records/{RECID_BIG}/files/big.bin/content"
        size = min(self.layout.big_size, GiB)  # ranges of the big file: at most 1 GiB per measurement
        env = {**os.environ, **sb.env}
        out: dict[str, Any] = {}
        for conns in (1, 8):
            step = -(-size // conns)
            cpu0 = sb.cpu_seconds()
            started = time.perf_counter()
            procs = [subprocess.Popen([curl, "-sS", "--fail", "-o", "/dev/null", "-r", f"{s}-{min(size, s + step) - 1}",
                                       url], env=env) for s in range(0, size, step)]  # noqa: S603
            codes = [p.wait() for p in procs]
            wall = time.perf_counter() - started
            out[f"{conns}"] = {"MBps": round(size / wall / 1e6, 1), "server_cpu": round((sb.cpu_seconds() - cpu0) / wall, 2),
                               "ok": all(c == 0 for c in codes)}
        runs = self.context.setdefault("ceiling_runs", [])
        runs.append(out)
        self.context["ceiling"] = {k: max((r[k] for r in runs), key=lambda v: v["MBps"]) for k in out}

    # scenarios ---------------------------------------------------------------------------
    def profile(self, sb: Sandbox, wan: bool) -> None:
        sb("profile", latency=self.latency if wan else 0, rate=self.cap if wan else None)

    def measure(self, sb: Sandbox, tools: Tools, name: str, ds: Dataset, scenario: str, *,
                resume: bool = False, default_limits: bool = False, timeout: float | None = None,
                stop: Callable[[], bool] | None = None, dest: Path | None = None) -> tuple[Proc, dict[str, Any], Path, float]:
        dest = dest or self.work / f"{scenario}-{name}"
        dest.mkdir(parents=True, exist_ok=True)
        if name == "curl":
            ds = curl_config_for(ds, dest)
        argv = tools.argv(name, ds, dest, resume=resume, default_limits=default_limits)
        env = {**os.environ, **sb.env}
        sb("clear")
        cpu0, busy0 = sb.cpu_seconds(), machine_busy_seconds()
        proc = run_process(argv, env=env, cwd=dest, log=self.work / f"{scenario}-{name}.log",
                           timeout=timeout, stop=stop)
        server_s = sb.cpu_seconds() - cpu0
        server_cpu = server_s / max(proc.wall, 1e-6)
        # everything else on the machine (other users' jobs; this driver's polling is a few %)
        self.last_others = max(0.0, (machine_busy_seconds() - busy0 - server_s - (proc.cpu or 0)) / max(proc.wall, 1e-6))
        time.sleep(0.2)  # let the server notice a killed client before counting
        return proc, sb("stats", detail=ds.count == 1), dest, server_cpu

    def run_plain(self, sb: Sandbox, tools: Tools, scenario: str, ds: Dataset, wan: bool) -> None:
        self.profile(sb, wan)
        for name in tools.paths:
            self.say(f"[{scenario}] {name} ...")
            limit = self.args.max_time if name in MUST_FINISH else self.args.timeout
            proc, stats, dest, server_cpu = self.measure(sb, tools, name, ds, scenario, timeout=limit)
            retried = ""
            if proc.rc is not None and proc.rc < 0 and proc.stopped is None and proc.wall < 2:
                # killed by a signal we did not send, at once: note it and try once more
                retried = f"retried: first attempt died of signal {-proc.rc} after {proc.wall:.1f} s; "
                self.retire(dest)
                proc, stats, dest, server_cpu = self.measure(sb, tools, name, ds, scenario, timeout=limit)
            done, _ = scan(dest, ds.size)
            r = Result(scenario, name, seconds=proc.wall, sent=stats["content_bytes"], others=self.last_others,
                       rss_mb=proc.rss_kb / 1024 if proc.rss_kb else None, cpu=proc.cpu,
                       server_cpu=server_cpu, requests=stats["requests"], complete=f"{done}/{ds.count}")
            r.ok = done == ds.count and proc.rc == 0
            if proc.stopped == "timeout":
                frac = (stats["content_bytes"] / ds.total) if ds.total else 0
                r.estimate = proc.wall / frac if frac > 0 else float("inf")
                r.note = (f"stopped after {limit:.0f} s ({frac:.0%} sent), time extrapolated" if frac > 0 else
                          f"stopped after {limit:.0f} s: no file requested yet "
                          f"({stats['api_requests']} API/landing requests)")
            elif not r.ok:
                r.note = f"exit {proc.rc}; {done}/{ds.count} files: {proc.log[-200:]!r}"
            r.note = retried + r.note
            if "ranges" in stats:  # one big file: when did each request start, what did it ask for
                r.extra_info["requests"] = stats.pop("ranges")[:12]
            payload = ds.total if r.ok else None
            r.mbps = stats["content_bytes"] / proc.wall / 1e6 if proc.stopped else ds.total / proc.wall / 1e6 if r.ok else None
            r.extra = stats["content_bytes"] - payload if payload is not None else None
            self.results.append(r)
            self.say(f"    {fmt_s(r)} s, {r.mbps or 0:.1f} MB/s, server CPU {server_cpu:.0%}, {r.complete} {r.note}")
            self.retire(dest)

    def run_default_limits(self, sb: Sandbox, tools: Tools, ds: Dataset) -> None:
        """doi2data with its default politeness (Zenodo guest limits) and the emulated rate headers."""
        self.profile(sb, True)
        sb("rate_headers", on=True)
        limit = 30.0
        self.say(f"[a] doi2data with default limits (stopped after {limit:.0f} s) ...")
        try:
            proc, stats, dest, _ = self.measure(sb, tools, "doi2data", ds, "a-limits", default_limits=True, timeout=limit)
        finally:
            sb("rate_headers", on=False)
        done, _ = scan(dest, ds.size)
        self.retire(dest)
        if proc.stopped is None:
            self.notes.append(f"doi2data with default limits (no `--rate`, emulated X-RateLimit headers on) fetched "
                              f"(a)'s {ds.count} files in {proc.wall:.1f} s.")
            return
        # 60/min with a bucket of 60, and 2000/h: (count - 60) more requests at 1/s (the /h bucket holds 2000)
        floor = max(0, ds.count - 60) / 1.0
        self.notes.append(
            f"doi2data with its **default limits** (Zenodo's published guest limits, 60 requests/min and 2,000/h, "
            f"plus the sandbox's emulated `X-RateLimit-*` headers) fetched {done} of (a)'s {ds.count:,} files in "
            f"{proc.wall:.0f} s before the benchmark stopped it; the limits alone put a floor of about "
            f"{floor / 60:.0f} min under (a) (one file per second after the first 60). That is why every other "
            f"doi2data run here uses `--rate zenodo.org=0`, and why the sandbox serves zenodo.org without its "
            f"emulated rate-limit headers, which only doi2data honours.")

    def run_resume(self, sb: Sandbox, tools: Tools, ds: Dataset) -> None:
        self.profile(sb, True)
        size = ds.size
        expected_md5 = sb("md5", recid=ds.recid, key="big.bin")["md5"]
        for name in tools.paths:
            if name not in RESUMABLE:
                self.results.append(Result("d", name, note="no resume mode: not run"))
                continue
            self.say(f"[d] {name}: kill at 50 % ...")
            last = [0.0]

            def half_sent() -> bool:
                now = time.perf_counter()
                if now - last[0] < 0.05:
                    return False
                last[0] = now
                return sb("stats")["content_bytes"] >= size // 2

            dest = self.work / f"d-{name}"
            p1, s1, dest, _ = self.measure(sb, tools, name, ds, "d1", resume=True, stop=half_sent,
                                           timeout=self.args.max_time, dest=dest)
            r = Result("d", name)
            if p1.stopped != "killed":
                r.note = f"first run was not killed ({p1.stopped or f'exit {p1.rc}'}) - no resume measured"
                self.results.append(r)
                self.retire(dest)
                continue
            left = sorted((str(p.relative_to(dest)), p.stat().st_size) for p in dest.rglob("*")
                          if p.is_file() and ".doi2data" not in p.parts)
            p2, s2, dest, server_cpu = self.measure(sb, tools, name, ds, "d2", resume=True, dest=dest,
                                                    timeout=self.args.max_time)
            done, found = scan(dest, size)
            good = bool(found) and md5_of(found[0]) == expected_md5
            sent = s1["content_bytes"] + s2["content_bytes"]
            r.seconds, r.sent, r.extra = p2.wall, sent, sent - size
            r.rss_mb = p2.rss_kb / 1024 if p2.rss_kb else None
            r.cpu, r.server_cpu, r.requests = p2.cpu, server_cpu, s1["requests"] + s2["requests"]
            r.others = self.last_others
            r.ok = good and p2.rc == 0
            r.complete = "md5 ok" if good else "md5 MISMATCH" if found else "missing"
            r.mbps = s2["content_bytes"] / p2.wall / 1e6 if p2.wall else None
            r.extra_info = {"killed_at_sent": s1["content_bytes"], "resume_sent": s2["content_bytes"],
                            "first_run_s": round(p1.wall, 2), "resume_requests": s2["content_requests"],
                            "left_after_kill": left[:6]}
            r.note = (f"killed after {s1['content_bytes'] / size:.0%} sent; resume fetched "
                      f"{s2['content_bytes'] / size:.0%} in {s2['content_requests']} request(s)")
            if name == "aria2c":
                control = any(n.endswith(".aria2") for n, _ in left)
                r.note += "; control file " + ("present" if control else "absent") + " after the kill"
            if p2.rc != 0:
                r.note += f"; resume exit {p2.rc}"
            self.results.append(r)
            self.say(f"    resume {p2.wall:.1f} s, re-sent {fmt_bytes(r.extra)}, {r.complete}; {r.note}")
            self.retire(dest)

    # orchestration -----------------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        self.say(f"workdir {self.work}")
        sb = Sandbox(args.scale, self.work / "sandbox.log", as_is=args.sandbox_as_is)
        try:
            tools = Tools(args, sb)
            for name, hint in tools.missing.items():
                self.say(f"skipping {name}: not installed; install with: {hint}")
            self.context.update(
                machine={"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release(),
                         "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GiB, 1)},
                versions=tools.versions, missing=tools.missing, layout=sb.hello["layout"],
                prewarm_s=sb.hello["prewarm_s"], nodelay_patched=sb.hello.get("nodelay_patched"))
            self.say(f"sandbox up (pid {sb.proc.pid}, digests prewarmed in {sb.hello['prewarm_s']} s); tools: "
                     + ", ".join(f"{k} ({v})" for k, v in tools.versions.items()))
            self.context["loadavg"] = " ".join(Path("/proc/loadavg").read_text().split()[:3]) \
                if Path("/proc/loadavg").exists() else "?"
            rate = self.disk_rate()
            self.say(f"disk write rate: {rate:.0f} MB/s ({self.context['disk']['how']}); "
                     f"O_DIRECT {self.context.get('disk_direct_runs')} MB/s; md5 {self.md5_rate():.0f} MB/s on one core")
            self.server_ceiling(sb)
            self.say(f"sandbox ceiling (curl, no quirks): {self.context['ceiling']}")
            sets: dict[str, Dataset] = {}
            need = {"a": RECID_A, "b": RECID_BIG, "d": RECID_BIG, "t": RECID_BIG, "c": RECID_C}
            shapes = {RECID_A: (self.layout.a_count, self.layout.a_size), RECID_BIG: (1, self.layout.big_size),
                      RECID_C: (self.layout.c_count, self.layout.c_size)}
            listing: dict[str, float] = {}
            for sc in args.scenarios:
                recid = need[sc]
                if recid not in sets:
                    count, size = shapes[recid]
                    sets[recid], listing[recid] = make_lists(sb, self.work, recid, recid, count, size)
            self.context["listing_s"] = {k: round(v, 2) for k, v in listing.items()}
            for sc in args.scenarios:
                ds = sets[need[sc]]
                if sc == "d":
                    self.run_resume(sb, tools, ds)
                else:
                    self.run_plain(sb, tools, sc, ds, wan=sc != "t")
                if sc == "a" and "doi2data" in tools.paths and not args.no_default_limits:
                    self.run_default_limits(sb, tools, ds)
            # once more at the end: the machine's load changes, the best of the two is the ceiling
            self.disk_rate()
            self.md5_rate()
            self.server_ceiling(sb)
            self.say(f"end of run: disk {self.context['disk']['runs']} MB/s; "
                     f"sandbox ceiling {self.context.get('ceiling_runs')}")
        finally:
            sb.close()
            if not args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        self.context["args"] = {k: v for k, v in vars(args).items() if k not in ("markdown", "json", "from_json")}
        self.context["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
        text = self.report()
        print(text)
        if args.markdown:
            Path(args.markdown).write_text(text + "\n")
        if args.json:
            rows = [{**asdict(r), "estimate": None if r.estimate == float("inf") else r.estimate} for r in self.results]
            Path(args.json).write_text(json.dumps({"context": self.context, "results": rows,
                                                   "targets": self.targets, "notes": self.notes}, indent=2) + "\n")
        return 0

    # report --------------------------------------------------------------------------------
    def find(self, scenario: str, tool: str) -> Result | None:
        return next((r for r in self.results if r.scenario == scenario and r.tool == tool), None)

    def effective_segments(self) -> int:
        # doi2data cuts at most --segments pieces of at least --min-segment (8 MiB)
        return max(1, min(self.args.segments, self.layout.big_size // (8 * MiB)))

    def check_targets(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        ceiling = self.context.get("ceiling", {})
        ceil8 = max([v.get("MBps", 0) for v in ceiling.values() if isinstance(v, dict)] or [0]) or None

        def add(target: str, measured: str, met: bool | None, why: str = "") -> None:
            out.append({"target": target, "measured": measured,
                        "verdict": "n/a" if met is None else ("met" if met else "**not met**"), "why": why})

        for sc, label in (("a", "(a)"), ("c", "(c)")):
            d, a = self.find(sc, "doi2data"), self.find(sc, "aria2c")
            if d and a and d.seconds and a.seconds:
                ratio = (d.estimate or d.seconds) / (a.estimate or a.seconds)
                why = ""
                if d.cpu is not None and d.seconds:
                    share = d.cpu / d.seconds
                    why = (f"doi2data used {d.cpu:.0f} CPU-s in {d.seconds:.0f} s ({share:.0%} of a core"
                           + (": client-CPU-bound" if share > 0.85 else "") + f"); server CPU {d.server_cpu:.0%}"
                           + (" (sandbox-bound)" if (d.server_cpu or 0) > 0.85 else "")
                           + (f"; other processes used {d.others:.1f} cores meanwhile" if (d.others or 0) > 0.3 else ""))
                add(f"{label} with {self.args.latency_ms:g} ms latency: doi2data ≤ 0.8 × aria2c's time",
                    f"{ratio:.2f} × ({fmt_s(d)} s vs {fmt_s(a)} s)", d.ok and ratio <= 0.8, why)
        t = self.find("t", "doi2data")
        disk = self.context.get("disk", {}).get("MBps")
        if t and t.mbps and disk:
            need = 0.85 * disk
            why = ""
            if ceil8 and ceil8 < need:
                why = (f"the sandbox itself serves at most {ceil8:.0f} MB/s (curl, best of 1 and 8 connections): "
                       f"the target is above the server's ceiling on this machine")
            best = max((r for r in self.results if r.scenario == "t" and r.ok and r.mbps), key=lambda r: r.mbps or 0.0,
                       default=None)
            if best and best.tool != "doi2data":
                why += f"; {best.tool} got {best.mbps:.0f} MB/s here"
            md5 = self.context.get("md5_MBps")
            if md5 and md5 < need:
                why += (f"; md5, which every verifying tool must compute over the whole file in order, runs at "
                        f"{md5:.0f} MB/s on one core here, below the target by itself")
            if t.cpu and t.seconds and t.cpu / t.seconds > 0.8:
                why += (f"; doi2data used {t.cpu:.0f} CPU-s in {t.seconds:.0f} s ({t.cpu / t.seconds:.0%} of a core: "
                        f"client-CPU-bound, server CPU {t.server_cpu:.0%})")
            why = why.strip("; ")
            add("no-latency throughput ≥ 85 % of the disk write rate",
                f"{t.mbps:.0f} MB/s vs {need:.0f} MB/s (85 % of {disk:.0f})", t.ok and t.mbps >= need, why)
        b = self.find("b", "doi2data")
        if b and b.mbps and self.cap:
            segs = self.effective_segments()
            need = 0.8 * segs * self.cap / 1e6
            single = self.find("b", "curl")
            why = f"curl's single capped connection: {single.mbps:.1f} MB/s" if single and single.mbps else ""
            if ceil8 and segs * self.cap / 1e6 > 0.8 * ceil8:
                why += f"; {segs} × cap is near the sandbox ceiling ({ceil8:.0f} MB/s)"
            starts = [q[0] for q in b.extra_info.get("requests", []) if q[3]]
            if len(starts) > 1:
                why += (f"; range requests started at {', '.join(f'{x:.1f}' for x in starts)} s: "
                        + ("the later segments waited for the first one"
                           if min(starts[1:]) - starts[0] > 0.25 * (self.layout.big_size / segs) / self.cap
                           else "all segments ran together"))
            add(f"(b) ≥ 0.8 × segments ({segs}) × per-connection cap ({self.cap / 1e6:g} MB/s)",
                f"{b.mbps:.1f} MB/s vs {need:.1f} MB/s", b.ok and b.mbps >= need, why.strip("; "))
        d = self.find("d", "doi2data")
        if d and d.extra is not None:
            segs = self.effective_segments()
            size = self.layout.big_size
            allowed = 0.01 * size + size / segs
            add("(d) re-sent ≤ 1 % of the file + one segment",
                f"{fmt_bytes(d.extra)} vs {fmt_bytes(int(allowed))} (1 % = {fmt_bytes(int(0.01 * size))}, "
                f"segment = {fmt_bytes(size // segs)})", d.ok and d.extra <= allowed,
                "" if d.ok else "resumed file did not verify")
        c = self.find("c", "doi2data")
        if c and c.rss_mb:
            add("(c) peak RSS ≤ 150 MB", f"{c.rss_mb * 1024 * 1024 / 1e6:.0f} MB", c.rss_mb * 1024 * 1024 / 1e6 <= 150)
        return out

    def report(self) -> str:
        a = self.args
        self.targets = self.check_targets()
        ctx = self.context
        cap = f"{a.cap_mbps:g} Mbit/s ({self.cap / 1e6:g} MB/s)" if self.cap else "none"
        lines = [
            "## Transfer benchmark",
            "",
            f"Command: `{' '.join(shlex.quote(x) for x in ['python', 'benchmarks/transfer.py', *a.argv])}`  ",
            f"Date: {ctx.get('date') or time.strftime('%Y-%m-%d %H:%M %Z')}; machine: {ctx['machine']['cpus']} CPUs, "
            f"{ctx['machine']['mem_gib']} GiB RAM, Linux {ctx['machine']['kernel']}, Python {ctx['machine']['python']}  ",
            f"Scale {a.scale:g}: (a) {ctx['layout']['a']}, (b/d/t) {ctx['layout']['b']}, (c) {ctx['layout']['c']}  ",
            f"WAN profile for a–d (sandbox quirks on file content): latency {a.latency_ms:g} ms per request, "
            f"cap {cap} per connection; t: no latency, no cap  ",
            f"doi2data flags: `{' '.join(['get', '-q', *d2d_flags(a), '--rate', 'zenodo.org=0'])}`; "
            f"aria2c `-j16 -x8 -i LIST`; curl `--parallel --parallel-max 16 -K CONFIG`; wget `-i URLS` "
            f"(one connection); `-c` / `-C -` added for (d)  ",
            f"Disk write rate: **{ctx['disk']['MBps']:.0f} MB/s** ({ctx['disk']['how']}; best of the runs at "
            f"the start and the end: {' and '.join(f'{x:.0f}' for x in ctx['disk']['runs'])} MB/s)  ",
            f"Load average at start: {ctx.get('loadavg', '?')}  ",
        ]
        if ctx.get("disk_direct_runs"):
            lines.append(f"The device itself (`dd bs=4M oflag=direct`, past the page cache): "
                         f"{' and '.join(f'{x:.0f}' for x in ctx['disk_direct_runs'])} MB/s  ")
        if ctx.get("md5_MBps"):
            lines.append(f"md5 on one core (hashlib, 256 MiB): **{ctx['md5_MBps']:.0f} MB/s**, the ceiling of any "
                         f"client that verifies Zenodo's md5 while it downloads  ")
        ceil = ctx.get("ceiling", {})
        if "1" in ceil:
            each = "; ".join(f"{r['1']['MBps']:.0f} / {r['8']['MBps']:.0f}" for r in ctx.get("ceiling_runs", []))
            lines.append(f"Sandbox ceiling (curl, no quirks, best of start and end of run): **{ceil['1']['MBps']:.0f} "
                         f"MB/s** on 1 connection (server CPU {ceil['1']['server_cpu']:.0%}), **{ceil['8']['MBps']:.0f} "
                         f"MB/s** on 8 (server CPU {ceil['8']['server_cpu']:.0%}); runs: {each} MB/s – where a tool "
                         f"gets close to this, the sandbox, not the tool, is the limit  ")
        elif ceil:
            lines.append(f"Sandbox ceiling: {ceil.get('note')}  ")
        if ctx.get("nodelay_patched"):
            lines.append("Sandbox patched in its own process: TCP_NODELAY on the uvicorn backend socket (without it "
                         "every small response waits ~40 ms for a delayed ACK; see `_bench_world.nodelay_backend`)  ")
        lines.append("Versions: " + "; ".join(f"{k} `{v}`" for k, v in ctx["versions"].items()) + "  ")
        if ctx.get("missing"):
            lines.append("Skipped (not installed): " + "; ".join(f"{k} (`{v}`)" for k, v in ctx["missing"].items()))
        lines += ["", "| scen. | tool | seconds | × aria2c | MB/s | server sent | extra / re-sent | peak RSS | tool CPU s "
                  "| server CPU | others | requests | result | notes |", "|" + "---|" * 14]
        for r in self.results:
            base = self.find(r.scenario, "aria2c")
            ratio = "–"
            if base and base.seconds and r.seconds and (base.ok or base.estimate) and r.estimate != float("inf"):
                ratio = f"{(r.estimate or r.seconds) / (base.estimate or base.seconds):.2f}"
                if r.estimate:
                    ratio = "~" + ratio
            lines.append("| " + " | ".join([
                r.scenario, r.tool, fmt_s(r), ratio, f"{r.mbps:.1f}" if r.mbps else "–", fmt_bytes(r.sent),
                fmt_bytes(r.extra), f"{r.rss_mb * 1048576 / 1e6:.0f} MB" if r.rss_mb else "–",
                f"{r.cpu:.1f}" if r.cpu is not None else "–",
                f"{r.server_cpu:.0%}" if r.server_cpu is not None else "–",
                f"{r.others:.2f}" if r.others is not None else "–",
                str(r.requests) if r.requests is not None else "–", r.complete or "–", r.note.replace("|", "/")]) + " |")
        listing = ", ".join(f"{v:.1f} s" for v in ctx.get("listing_s", {}).values())
        lines += ["", "Columns: **seconds** = wall time (d: the resume run only); `>T (~E)` = a curl/wget/zenodo_get/"
                  f"datahugger run stopped after T s by `--timeout {a.timeout:g}`, E extrapolated from the bytes sent "
                  "so far (doi2data and aria2c always run to the end). **× aria2c** = seconds / aria2c's seconds. "
                  "**MB/s** = payload / seconds (d: resume bytes / resume seconds). **server sent** = file-content "
                  "bytes the sandbox sent (d: killed run + resume); **extra / re-sent** = sent − payload (d: the "
                  "bytes sent twice). **peak RSS**, **tool CPU s** from `/usr/bin/time`. **server CPU** = the sandbox "
                  "process's CPU over the run (100 % = one core: the sandbox is then the bottleneck). **others** = "
                  "cores used by other processes on the machine meanwhile (noise). **requests** = requests the "
                  "sandbox answered (API + content).", "",
                  "doi2data's seconds include resolving the DOI and listing the record; aria2c, curl and wget got a "
                  f"ready list from `doi2data ls --format aria2` / `--format urls` (listing took {listing}); "
                  "zenodo_get and datahugger resolve the DOI themselves. Verification: doi2data and zenodo_get check "
                  "md5, aria2c checks the `checksum=` line of its list; curl, wget and datahugger (run without "
                  "`--checksum`) do not verify. (d) results are checked with md5 by the benchmark.", ""]
        if self.targets:
            lines += ["| target | measured | verdict | why / bottleneck |", "|---|---|---|---|"]
            lines += [f"| {t['target']} | {t['measured']} | {t['verdict']} | {t['why']} |" for t in self.targets]
            lines.append("")
        for note in self.notes:
            lines.append(f"* {note}")
        return "\n".join(lines)


def rerender(args: argparse.Namespace) -> int:
    """Print (and write) the report of a saved ``--json`` run with the current report code."""
    saved = json.loads(Path(args.from_json).read_text())
    run_args = argparse.Namespace(**{**vars(args), **saved["context"]["args"]})
    bench = Bench.__new__(Bench)  # no work dir, no sandbox: only the report
    bench.args, bench.layout, bench.context = run_args, Layout(run_args.scale), saved["context"]
    bench.notes = saved.get("notes", [])
    bench.cap = run_args.cap_mbps * 1e6 / 8 if run_args.cap_mbps else None
    bench.results = [Result(**{**r, "estimate": float("inf") if r["estimate"] is None and r["note"].startswith(
        "stopped after") and "no file" in r["note"] else r["estimate"]}) for r in saved["results"]]
    text = bench.report()
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


def install_python_tools() -> int:
    """pip-install zenodo_get and datahugger into their own venv (they pin their own dependencies)."""
    import venv

    if not (PY_TOOLS_VENV / "bin" / "pip").exists():
        PY_TOOLS_VENV.parent.mkdir(parents=True, exist_ok=True)
        venv.create(PY_TOOLS_VENV, with_pip=True)
    rc = subprocess.run([str(PY_TOOLS_VENV / "bin" / "pip"), "install", "-q", "zenodo_get", "datahugger"]).returncode
    print(f"installed into {PY_TOOLS_VENV}" if rc == 0 else f"pip failed ({rc}): zenodo_get/datahugger will be skipped")
    return rc


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="shrink every dataset (e.g. 0.05); 1 = full size")
    p.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help="comma list of a,b,c,d,t")
    p.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma list of " + ",".join(ALL_TOOLS))
    p.add_argument("--latency-ms", type=float, default=20.0, help="latency per file request in a-d (ms)")
    p.add_argument("--cap-mbps", type=float, default=200.0,
                   help="per-connection bandwidth cap in a-d, in Mbit/s (0: none); 200 Mbit/s = 25 MB/s")
    p.add_argument("--timeout", type=float, default=45.0,
                   help="stop a curl/wget/zenodo_get/datahugger run after this many seconds and extrapolate its "
                        "time from the bytes sent (single-connection tools would take many minutes at full scale)")
    p.add_argument("--max-time", type=float, default=900.0,
                   help="hard stop for doi2data and aria2c runs and for (d) (they are never extrapolated)")
    p.add_argument("--jobs", type=int, default=16, help="doi2data --jobs (aria2c runs -j16)")
    p.add_argument("--per-host", type=int, default=16, help="doi2data --per-host")
    p.add_argument("--segments", type=int, default=4, help="doi2data --segments")
    p.add_argument("--markdown", metavar="FILE", help="also write the report here")
    p.add_argument("--json", metavar="FILE", help="write raw results as JSON")
    p.add_argument("--workdir", help="parent of the temporary download directory (default: system temp)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, lists)")
    p.add_argument("--sandbox-as-is", action="store_true",
                   help="do not patch the sandbox's missing TCP_NODELAY (small responses then cost ~40 ms)")
    p.add_argument("--no-default-limits", action="store_true", help="skip the doi2data default-limits note run")
    p.add_argument("--from-json", metavar="FILE", help="only re-print the report of a run saved with --json")
    p.add_argument("--install-python-tools", action="store_true",
                   help=f"pip install zenodo_get and datahugger into {PY_TOOLS_VENV} and exit")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [s for s in args.scenarios if s not in ALL_SCENARIOS] + [t for t in args.tools if t not in ALL_TOOLS]
    if bad:
        p.error(f"unknown scenario/tool: {', '.join(bad)}")
    if args.scale <= 0:
        p.error("--scale must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.install_python_tools:
        return install_python_tools()
    if args.from_json:
        return rerender(args)
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())
