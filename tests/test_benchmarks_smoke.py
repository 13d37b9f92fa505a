"""The transfer benchmark runs end to end at a tiny scale (not a timing test).

It starts the benchmark's own sandbox process, downloads scenario (a) with doi2data (and curl when
installed), then scenario (d): doi2data is SIGKILLed once the server has sent half of the big
file and resumed. What is checked is that the machinery measures what it claims: every file
arrived, the table and the target lines are printed, and the (d) figures add up (the resume
really resumed, and the re-sent bytes are the server's total minus the file size).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks" / "transfer.py"


@pytest.mark.slow
def test_benchmark_tiny_scale_produces_table_and_resume_figures(tmp_path: Path) -> None:
    tools = "doi2data,curl" if shutil.which("curl") else "doi2data"
    markdown, raw = tmp_path / "bench.md", tmp_path / "bench.json"
    # 8 Mbit/s per connection: the 4 MiB file of (d) takes ~4 s, so "kill at 50 %" has room
    cmd = [sys.executable, str(BENCH), "--scale", "0.002", "--tools", tools, "--scenarios", "a,d",
           "--cap-mbps", "8", "--no-default-limits", "--markdown", str(markdown), "--json", str(raw),
           "--workdir", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]

    text = markdown.read_text()
    assert text.strip() == done.stdout.strip()  # --markdown writes what is printed
    assert "| scen. | tool | seconds | × aria2c | MB/s |" in text
    assert "Disk write rate: **" in text and "Sandbox ceiling" in text

    data = json.loads(raw.read_text())
    results = {(r["scenario"], r["tool"]): r for r in data["results"]}
    a = results[("a", "doi2data")]
    assert a["ok"] and a["complete"] == "4/4"
    assert a["sent"] == 4 * (1 << 20) and a["extra"] == 0  # exactly the payload, counted by the server
    assert a["seconds"] > 0 and a["rss_mb"] and a["rss_mb"] > 5  # /usr/bin/time or /proc numbers, not zero
    if "curl" in tools:
        assert results[("a", "curl")]["ok"]

    d = results[("d", "doi2data")]
    size = int(2 * (1 << 30) * 0.002)
    info = d["extra_info"]
    assert d["ok"] and d["complete"] == "md5 ok", d
    assert 0.3 * size <= info["killed_at_sent"] < size  # killed part-way, by the server's byte counter
    assert 0 < info["resume_sent"] < 0.8 * size  # the second run resumed instead of starting over
    assert d["sent"] == info["killed_at_sent"] + info["resume_sent"]
    assert d["extra"] == d["sent"] - size >= 0  # re-sent bytes: both runs minus the file
    assert "re-sent" in text and "| d | doi2data |" in text

    targets = {t["target"]: t for t in data["targets"]}
    resend = next(t for name, t in targets.items() if name.startswith("(d) re-sent"))
    assert resend["verdict"] in ("met", "**not met**")
