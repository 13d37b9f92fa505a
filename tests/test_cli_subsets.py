"""The subset options as users type them: ls --inside, get --extract/--hdf5/--where, size/regex filters."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

NO_LIMIT = ("--rate", "zenodo.org=0")


def test_ls_inside_zip_lists_members_with_one_ranged_read(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", "10.5281/zenodo.7000400", "--inside", "frames.zip", "--include", "frame_00001*", "--json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    names = [m["name"] for m in doc["members"]]
    assert names and all("frame_00001" in n for n in names)


def test_get_extract_writes_only_members_and_checks_crc(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", "10.5281/zenodo.7000400", "z", "--extract", "frames.zip:images/frame_0000[12].cbf", *NO_LIMIT)
    assert run.code == 0, run.err
    written = sorted(str(p.relative_to(tmp_path / "z")) for p in (tmp_path / "z").rglob("*.cbf"))
    assert written == ["images/frame_00001.cbf", "images/frame_00002.cbf"]
    assert "received" in run.err


def test_get_hdf5_slab(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h5py = pytest.importorskip("h5py")
    run = cli("get", "10.5281/zenodo.7000500", "h", "--hdf5", "scan.h5:/entry/data/data[10:12]", *NO_LIMIT)
    assert run.code == 0, run.err
    (out,) = list((tmp_path / "h").glob("*.h5"))
    with h5py.File(out) as f:
        assert f["/entry/data/data"].shape[0] == 2


def test_get_where_fetches_only_matching_frames(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", "10.5281/zenodo.154704", "w", "--where", "omega >= 90 and omega < 93 and chi == 0", *NO_LIMIT)
    assert run.code == 0, run.err
    assert len(list((tmp_path / "w").rglob("*.cbf"))) == 3


def test_bad_where_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", "10.5281/zenodo.154704", "w", "--where", "omega >>= 3")
    assert run.code == 2 and "--where" in run.err and "Traceback" not in run.err


def test_size_and_regex_filters_on_ls_and_get(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", "10.5281/zenodo.1215979", "--min-size", "1MiB", "--regex", r"frame_000[23]", "--json")
    assert run.code == 0, run.err
    assert [f["path"] for f in json.loads(run.out)["files"]] == ["images/frame_0002.cbf", "images/frame_0003.cbf"]
    run = cli("get", "10.5281/zenodo.1215979", "s", "--max-size", "4KB", "-q")
    assert run.code == 0, run.err
    assert all(p.stat().st_size <= 4000 for p in (tmp_path / "s").rglob("*") if p.is_file() and ".doi2data" not in str(p))
    assert cli("ls", "10.5281/zenodo.1215979", "--min-size", "2MB", "--max-size", "1MB").code == 2


def test_zip_member_bytes_match_a_local_zip(cli, net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = net.world.file_bytes("7000400", "frames.zip")
    local = tmp_path / "frames.zip"
    local.write_bytes(data)
    with zipfile.ZipFile(local) as zf:
        expected = zf.read("images/frame_00003.cbf")
    assert cli("get", "10.5281/zenodo.7000400", "m", "--extract", "frames.zip:images/frame_00003.cbf", *NO_LIMIT).code == 0
    assert (tmp_path / "m/images/frame_00003.cbf").read_bytes() == expected


def test_filters_reach_transfer_and_export(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("transfer", "10.5281/zenodo.1215979", "--to", "davs://se.example.org/dest", "--engine", "fts3",
              "--dry-run", "--min-size", "1MiB")
    assert run.code == 0, run.err
    job = json.loads(run.out)
    assert len(job["files"]) == 2  # frame_0002 and frame_0003 only
    run = cli("export", "10.5281/zenodo.1215979", "--ro-crate", "crate", "--holey", "--regex", r"\.json$", "-q")
    assert run.code == 0, run.err
    crate = json.loads((tmp_path / "crate" / "ro-crate-metadata.json").read_text())
    files = [e for e in crate["@graph"] if e.get("@type") == "File"]
    assert len(files) == 3
