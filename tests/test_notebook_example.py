"""CI executes examples/quickstart.ipynb against the sandbox (issue 18 item 4): any cell error fails.

The committed notebook is the rendered documentation; this test runs a fresh copy of its cells
(outputs dropped) in a real ipykernel through nbclient, then checks what a reader must see: the
manifest, report and frame-table HTML, the notebook progress bar, three plots, and no terminal
control codes anywhere.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("h5py")
pytest.importorskip("pandas")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:  # type: ignore[type-arg]
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_quickstart_notebook_runs_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # the kernel inherits this environment: no real proxy, Agg for matplotlib, no user cache writes
    for key in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # connection files, not under ~
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    started = time.monotonic()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert time.monotonic() - started < 60
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    texts = [o.get("text", "") for o in outputs if o.output_type == "stream"]
    texts += [v for o in outputs for v in o.get("data", {}).values() if isinstance(v, str)]
    assert not [t for t in texts if "\x1b" in t or "\r" in t], "terminal control codes in a cell"
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert any("Lysozyme rotation series" in h and "https://doi.org/10.5281/zenodo.154704" in h for h in html)
    assert any("<progress" in h and "4/4 files" in h for h in html)          # the download's bar, final state
    assert any("4 downloaded" in h and "4 verified" in h for h in html)      # the report
    assert any("1 downloaded" in h and "1 verified" in h for h in html)      # adownload awaited in the cell
    assert any("60 frames" in h for h in html) and any("1 files written" in h for h in html)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3
    assert any("(10, 256, 256) frames written from scan.h5" in t for t in texts)


def test_committed_notebook_is_current() -> None:
    """The committed cells are the ones examples/make_quickstart.py writes (regenerate after editing it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_quickstart", NOTEBOOK.parent / "make_quickstart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in module.build().cells]
    assert sum(bool(c.outputs) for c in committed.cells if c.cell_type == "code") >= 9  # executed: the rendered docs
