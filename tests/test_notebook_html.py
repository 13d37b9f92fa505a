"""Jupyter reprs (issue 18 items 1-2): bounded, escaped HTML; one-line reprs; typed DataFrames."""

from __future__ import annotations

import gc
import html.parser
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.notebook import download_html, frames_html, in_notebook, manifest_html, subset_html
from doi2data.subset.common import SubsetReport, Written
from doi2data.subset.frames import Frame, FrameTable
from doi2data.transfer.engine import DownloadReport, FileResult


class _Collect(html.parser.HTMLParser):
    """Tags and attributes of the output, to check no markup came from the data."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def parse(text: str) -> _Collect:
    c = _Collect()
    c.feed(text)
    return c


def _fast_entries(count: int) -> Iterator[FileEntry]:
    """Distinct entries without FileEntry's checks per entry (building 1,000,000 the normal way takes ~10 s)."""
    template = vars(FileEntry("x", 1, {"md5": "0" * 32}, ("https://zenodo.org/api/records/1/files/x/content",)))

    def make(i: int) -> FileEntry:
        entry = object.__new__(FileEntry)
        entry.__dict__.update(template, path=f"run{i // 1000:04d}/frame_{i:07d}.cbf", size=1000 + i % 7)
        return entry

    return map(make, range(count))  # lazily: a compact file list never holds them all at once


@pytest.mark.slow  # building the million entries takes 10-25 s; rendering them is what is timed
def test_million_file_manifest_renders_fast_and_bounded() -> None:
    manifest = Manifest(Dataset("10.5281/zenodo.1", title="big"), _fast_entries(1_000_000))
    gc.collect()
    started = time.process_time()
    out = manifest_html(manifest)
    spent = time.process_time() - started
    assert spent < 1.0, f"{spent:.2f} s of CPU"
    assert len(out.encode()) < 200_000
    assert "1,000,000 files" in out and "1000 more" not in out  # aggregates, not rows
    assert "run0999" in out or "more folders" in out
    assert out.count("<tr>") < 400
    text = repr(manifest)
    assert text.startswith("<Manifest 10.5281/zenodo.1 'big': 1,000,000 files") and len(text) < 200


def test_summary_from_compact_columns_equals_the_one_from_entries() -> None:
    """A compact file list is summarised from its own columns; the result must be what its entries say."""
    from doi2data.notebook import _entry_columns, summary

    files = [FileEntry(f"d{i % 4}/f_{i:03d}.dat", None if i % 7 == 0 else i, {"md5": f"{i:032x}"} if i % 3 else {},
                       (f"https://z.org/d{i % 4}/f_{i:03d}.dat",), access="open" if i % 5 else "restricted")
             for i in range(200)]
    files += [FileEntry("odd/blake3.dat", 5, {"blake3": "ab" * 32}), FileEntry("odd/bad.dat", 6, {"md5": "1234"}),
              FileEntry("odd/both.dat", 7, {"sha256": "a" * 64, "md5": "b" * 32})]
    manifest = Manifest(Dataset("10.1/x"), files)
    cols = _entry_columns(tuple(files))
    agg = summary(manifest)
    assert agg.total == sum(cols.sizes) and agg.unknown == cols.unknown == 29
    assert agg.access == dict(cols.access) and agg.malformed == cols.malformed == 1
    expected: dict[str, int] = {}
    for algos, n in cols.kinds.items():
        label = "+".join(sorted(algos)) or "none"
        expected[label] = expected.get(label, 0) + n
    assert agg.kinds == expected
    assert agg.folders["d1"] == [50, sum(i for i in range(1, 200, 4) if i % 7)]
    store = getattr(manifest.files, "_b", None)
    if store is not None:  # the compact list's columns are read directly, and agree with its entries
        from doi2data.notebook import _filelist_columns

        fast = _filelist_columns(store)
        assert (list(fast.paths), fast.sizes, fast.unknown, fast.access, fast.kinds, fast.malformed) == \
            (cols.paths, cols.sizes, cols.unknown, cols.access, cols.kinds, cols.malformed)


def test_hostile_text_is_escaped_and_only_http_links() -> None:
    evil = '<script>alert(1)</script>"'
    files = (FileEntry(f"{evil}/a_0001.dat", 1, {"md5": "0" * 32}, ("javascript:alert(1)",)),
             FileEntry("b.dat", 2, {}, ("https://example.org/b?x=1&y=<2>",)),
             FileEntry("c.dat", 3, {}, ("https://example.org/" + "x" * 5000,)),
             FileEntry("d.dat", 4, {}, ("data:text/html,<b>",)))
    ds = Dataset('10.1/x"><img src=x onerror=alert(1)>', title=evil, license="javascript:alert(2)",
                 landing_url="JaVaScRiPt:alert(3)", creators=(evil,))
    out = manifest_html(Manifest(ds, files, warnings=(evil,)))
    seen = parse(out)
    assert set(seen.tags) <= {"style", "div", "b", "br", "a", "details", "summary", "table", "tr", "th", "td", "ul",
                              "li", "code"}
    assert "script" not in seen.tags and "img" not in seen.tags
    assert all(h.startswith("https://") for h in seen.hrefs), seen.hrefs
    assert "https://example.org/b?x=1&y=<2>" in seen.hrefs            # escaped in the attribute, intact once parsed
    assert not any("xxxxx" in h for h in seen.hrefs)                   # a 5,000-character URL is not linked
    assert any(h.startswith("https://doi.org/10.1/x%22%3E%3Cimg") for h in seen.hrefs)


def test_small_manifest_shows_title_doi_licence_groups() -> None:
    files = [FileEntry(f"images/lyso_1_{i:04d}.cbf", 100, {"md5": f"{i:032x}"}, (f"https://z.org/{i}",))
             for i in range(1, 61)]
    files += [FileEntry("README.txt", 5, {"sha256": "a" * 64}, ("https://z.org/r",)),
              FileEntry("secret/x.h5", None, {}, (), access="restricted")]
    ds = Dataset("10.5281/zenodo.154704", title="Lysozyme", license="cc-by-4.0", creators=("Helliwell, John",))
    out = manifest_html(Manifest(ds, files))
    assert 'href="https://doi.org/10.5281/zenodo.154704"' in out
    assert "Lysozyme" in out and "licence cc-by-4.0" in out and "Helliwell, John" in out
    assert "62 files" in out and "1 sizes unknown" in out
    assert "open: 61" in out and "restricted: 1" in out and "md5: 60" in out and "none: 1" in out
    assert "images/lyso_1_####.cbf" in out and "0001 … 0060" in out          # by file series
    assert "<td>images</td>" in out and "<td>secret</td>" in out                # by folder
    assert "<details><summary>" in out and "more files</summary>" in out      # rows past 20 are folded


@pytest.mark.skipif("dataset" not in FileEntry.__dataclass_fields__, reason="the model names no datasets")
def test_files_grouped_by_dataset_inside_the_doi() -> None:
    from doi2data.model import DatasetInfo  # type: ignore[attr-defined]

    files = [FileEntry(f"raw/s{i % 3}/f{i}.h5", 10, dataset=f"sample{i % 3}")  # type: ignore[call-arg]
             for i in range(30)]
    files.append(FileEntry("README", 1))
    infos = (DatasetInfo("sample0", kind="raw", sample="lyso <1>", technique="MX"),)
    out = manifest_html(Manifest(Dataset("10.1/x"), files, datasets=infos))  # type: ignore[call-arg]
    assert "by dataset (3)" in out
    assert "<tr><td>sample0</td><td>raw</td><td>lyso &lt;1&gt;</td><td>MX</td><td class=\"n\">10</td>" in out
    df = Manifest(Dataset("10.1/x"), files).to_pandas() if _has_pandas() else None
    if df is not None:
        assert df["dataset"].tolist()[:2] == ["sample0", "sample1"] and df["dataset"].isna().tolist()[-1]


def _has_pandas() -> bool:
    import importlib.util

    return importlib.util.find_spec("pandas") is not None


def _table() -> FrameTable:
    frames = [Frame("images/lyso_1_%04d.cbf" % i, 0, None, {"omega": 60.0 + i, "chi": 0.0, "detector": "PILATUS"})
              for i in range(1, 41)]
    frames.append(Frame("scan.h5", 3, "/entry/data/data", {"omega": 81.5}))
    return FrameTable("10.5281/zenodo.154704", frames, requests=7, bytes_received=4096, scanned=41)


def test_frames_html_and_select() -> None:
    table = _table()
    out = frames_html(table)
    assert "41 frames" in out and "7 requests" in out
    assert "<td>omega</td><td class=\"n\">61</td><td class=\"n\">100</td>" in out
    chosen = table.select("omega >= 90 and omega < 95")
    assert [f.file for f in chosen.frames] == ["images/lyso_1_%04d.cbf" % i for i in range(30, 35)]
    assert repr(chosen) == "<FrameTable 10.5281/zenodo.154704: 5 frames, 7 requests>"
    assert "5 frames" in chosen._repr_html_()


def test_reports_render() -> None:
    report = DownloadReport(Path("/tmp/<d>"), [
        FileResult("a", "a", "downloaded", 10, checked=("md5",)),
        FileResult("b", "b", "downloaded", 5, reason="no checksum given"),
        FileResult("c<x>", None, "failed", reason="HTTP 404 <boom>"),
    ], messages=["note <1>"])
    out = report._repr_html_()
    assert out == download_html(report)
    assert "2 downloaded" in out and "1 verified" in out and "1 unchecked" in out and "1 failed" in out
    assert "c&lt;x&gt;" in out and "HTTP 404 &lt;boom&gt;" in out and "<boom>" not in out
    assert repr(report) == "<DownloadReport /tmp/<d>: 2 downloaded, 0 present, 1 verified, 1 failed>"
    sub = SubsetReport(Path("out"), [Written("scan.h5", "/entry/data/data[0:2]", "scan.frames.h5", 2048)],
                       requests=3, bytes_received=999)
    assert sub._repr_html_() == subset_html(sub)
    assert "1 files written" in subset_html(sub) and "scan.frames.h5" in subset_html(sub)
    assert repr(sub) == "<SubsetReport out: 1 written, 0 failed, 3 requests>"


def test_to_pandas_typed_columns() -> None:
    pd = pytest.importorskip("pandas")
    files = (FileEntry("a.txt", 3, {"md5": "0" * 32, "sha256": "1" * 64}, ("https://z.org/a",)),
             FileEntry("b.txt", None, {}, (), access="restricted"))
    df = Manifest(Dataset("10.1/x"), files).to_pandas()
    named = ["dataset"] if "dataset" in FileEntry.__dataclass_fields__ else []
    assert list(df.columns) == ["path", "size", "access", *named, "url", "media_type", "md5", "sha256", "note"]
    assert str(df["size"].dtype) == "Int64" and df["size"].isna().tolist() == [False, True]
    assert isinstance(df["path"].dtype, pd.StringDtype) and isinstance(df["md5"].dtype, pd.StringDtype)
    assert isinstance(df["access"].dtype, pd.CategoricalDtype) and "offline" in df["access"].cat.categories
    assert df.loc[0, "sha256"] == "1" * 64 and pd.isna(df.loc[1, "url"])
    frames = _table().select("omega > 99").to_pandas()
    assert str(frames["omega"].dtype) == "Float64" and str(frames["frame"].dtype) == "Int64"
    assert isinstance(frames["detector"].dtype, pd.StringDtype)
    assert frames["file"].tolist() == ["images/lyso_1_0040.cbf"]


def test_to_pandas_without_pandas_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from doi2data.errors import UsageError

    real = builtins.__import__

    def no_pandas(name: str, *args: object, **kwargs: object) -> object:
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(UsageError, match=r"doi2data\[pandas\]"):
        Manifest(Dataset("10.1/x")).to_pandas()


def test_not_a_notebook_in_plain_python() -> None:
    assert in_notebook() is False
