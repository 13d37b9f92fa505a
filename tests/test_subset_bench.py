"""The subset benchmark runs end to end at a tiny scale and its targets hold (not a timing test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("h5py")
pytest.importorskip("fabio")

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_subsets_benchmark_tiny_scale(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "subsets.py"), "--scale", "0.01", "--json",
                           str(out)], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["operation"].split(" (")[0].split(" ->")[0]: r for r in json.loads(out.read_text())}
    assert "operation" in done.stdout and "targets missed" not in done.stderr
    assert all(r["ok"] is not False for r in rows.values())
    assert rows["zip: list + 1 member"]["requests"] == 2
    assert rows["frames: same table again"]["requests"] == 0
