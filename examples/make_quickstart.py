"""Write ``quickstart.ipynb`` from the cells below; ``--execute`` also runs it (outputs kept: the rendered docs).

    python examples/make_quickstart.py --execute

Why a script: the notebook's cells are reviewed as plain Python here, and the committed notebook
is always regenerated (and executed against the sandbox) the same way ``tests/test_notebook_example.py`` runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CELLS: list[tuple[str, str]] = [
    ("md", """# doi2data in Jupyter: a quickstart

Resolve a dataset DOI, look at its files, download a selection (verified), read a slice of an HDF5
file in place, and choose diffraction frames by their rotation angle.

This notebook runs **offline** against doi2data's built-in sandbox: emulated doi.org, DataCite and
Zenodo on this machine, reached through a local TLS proxy. With real DOIs, skip the next cell."""),
    ("code", """import os, tempfile
from pathlib import Path
from doi2data.sandbox import FakeInternet

net = FakeInternet().start()
os.environ.update(net.env)          # HTTPS_PROXY + SSL_CERT_FILE: https://doi.org/... now reaches the sandbox
work = Path(tempfile.mkdtemp(prefix="doi2data-quickstart-"))"""),
    ("md", """## 1. Resolve a DOI and look at the manifest

`resolve` lists every file with size, checksum and access, without downloading anything. In a notebook
the manifest shows as a compact table: title, DOI, licence, size, files grouped by folder and by file
series, access and checksum kinds (large manifests show aggregates and the first rows only)."""),
    ("code", """import doi2data

manifest = doi2data.resolve("10.5281/zenodo.154704")   # 120 PILATUS miniCBF frames
manifest"""),
    ("code", """files = manifest.to_pandas()        # typed: path string, size Int64, access category, md5 string...
print(files.dtypes.to_string())
files.head(3)"""),
    ("md", """## 2. Download a selection

Files are verified against the repository's checksums, written under a temporary name and renamed;
running the cell again moves zero bytes. A progress bar appears while it runs (`progress=False` hides it)."""),
    ("code", """report = doi2data.download(manifest, work / "cbf", include="images/*_000[1-4].cbf")
report"""),
    ("md", """The async versions run in the notebook's own event loop: `await` them directly."""),
    ("code", """hdf5 = await doi2data.aresolve("10.5281/zenodo.7000500")    # NeXus/HDF5 scans
await doi2data.adownload(hdf5, work / "hdf5", include="eiger/*_master.h5")"""),
    ("md", """## 3. Read an HDF5 slice in place

`doi2data.open(doi, path)` gives a seekable file object over HTTP byte ranges: h5py reads only the
metadata and the chunks it needs (a whole, in-order read is also checked against the checksums)."""),
    ("code", """import h5py
import matplotlib.pyplot as plt

HDF5_DOI = "10.5281/zenodo.7000500"                     # NeXus/HDF5 scans
with doi2data.open(HDF5_DOI, "scan.h5") as remote, h5py.File(remote, "r") as h5:
    data = h5["/entry/data/data"]
    print(data.shape, data.dtype, data.chunks, data.compression)
    frame = data[12]                                    # one 256x256 frame: one chunk fetched

plt.imshow(frame, cmap="magma")
plt.title("scan.h5, frame 12")
plt.colorbar()
plt.show()"""),
    ("md", """## 4. Choose frames by their rotation angle

`doi2data.frames` builds the frame table from metadata only (NeXus angle arrays, CBF headers) and
`select` narrows it with the safe `--where` grammar. `fetch_frames` then writes just those frames."""),
    ("code", """table = doi2data.frames(HDF5_DOI, cache=False)      # cache=False: keep sandbox DOIs out of ~/.cache
table"""),
    ("code", """where = "omega >= 85 and omega < 90"
chosen = table.select(where)
all_frames, picked = table.to_pandas(), chosen.to_pandas()
scan = all_frames[all_frames.file == "scan.h5"]

fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(scan.frame, scan.omega, ".", color="grey", label="scan.h5: all frames")
ax.plot(picked.frame, picked.omega, "o", color="crimson", label=where)
ax.axhspan(85, 90, color="crimson", alpha=0.1)
ax.set_xlabel("frame")
ax.set_ylabel("omega (deg)")
ax.legend()
plt.show()"""),
    ("code", """from doi2data.subset import fetch_frames

subset = fetch_frames(doi2data.resolve(HDF5_DOI), where, work / "frames", table=table, cache=False)
subset"""),
    ("code", """written = subset.written[0]
with h5py.File(work / "frames" / written.local, "r") as h5:
    stack = h5["/entry/data/data"][...]
print(stack.shape, "frames written from", written.source)
plt.imshow(stack.sum(axis=0), cmap="magma")
plt.title(f"sum of the {stack.shape[0]} frames with {where}")
plt.show()"""),
    ("code", """net.stop()                          # the sandbox goes away with the kernel anyway"""),
]


def build() -> nbformat.NotebookNode:
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 120) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


if __name__ == "__main__":
    notebook = build()
    if "--execute" in sys.argv:
        execute(notebook, HERE)
    nbformat.write(notebook, HERE / "quickstart.ipynb")
