"""Interop with the real aria2c (Debian ``aria2``): our Metalink and input files, through the fake internet.

aria2c reads ``https_proxy`` like curl; the sandbox CA is given with ``--ca-certificate``. It
downloads every file of the Metalink (``ls --format metalink``) and checks each against the
Metalink's hash; a flipped byte must make it fail with exit code 32 (checksum error).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import doi2data
from doi2data.formats import to_aria2, to_metalink
from doi2data.sandbox import FakeInternet, Quirk

pytestmark = pytest.mark.skipif(shutil.which("aria2c") is None, reason="aria2c not installed (Debian: aria2)")

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"


def aria2c(net: FakeInternet, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(net.env)
    return subprocess.run(["aria2c", f"--ca-certificate={net.ca_file}", "--console-log-level=warn",
                           "--summary-interval=0", "--max-tries=2", "--retry-wait=0", *args],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_aria2c_downloads_and_verifies_our_metalink(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = cli("ls", DOI, "--format", "metalink")
    assert listing.code == 0, listing.err
    meta4 = tmp_path / "dataset.meta4"
    meta4.write_text(listing.out, encoding="utf-8")
    net.clear_log()
    run = aria2c(net, f"--metalink-file={meta4}", f"--dir={tmp_path / 'out'}", "-x2", "-k1M")
    assert run.returncode == 0, run.stdout + run.stderr
    got = tree(tmp_path / "out")
    manifest = doi2data.resolve(DOI)
    assert set(got) == {f.path for f in manifest.files}
    for path, data in got.items():
        assert data == net.world.file_bytes(RECID, path)
    assert any(r.host == "zenodo.org" and "frame_0003" in r.path for r in net.log)  # came through the proxy


def test_aria2c_rejects_a_corrupted_file(net: FakeInternet, tmp_path: Path) -> None:
    meta4 = tmp_path / "x.meta4"
    meta4.write_text(to_metalink(doi2data.resolve(DOI, include="images/frame_0001.cbf")), encoding="utf-8")
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0001.cbf*", kind="corrupt", offset=1234))
    run = aria2c(net, f"--metalink-file={meta4}", f"--dir={tmp_path / 'bad'}")
    assert run.returncode == 32, run.stdout  # "checksum validation failed"
    assert "Checksum error" in run.stdout + run.stderr


def test_aria2c_input_file_with_checksums(net: FakeInternet, tmp_path: Path) -> None:
    manifest = doi2data.resolve(DOI, include=["*.json", "notes"])
    (tmp_path / "in.txt").write_text(to_aria2(manifest, directory=str(tmp_path / "dl")), encoding="utf-8")
    run = aria2c(net, f"--input-file={tmp_path / 'in.txt'}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert tree(tmp_path / "dl") == {f.path: net.world.file_bytes(RECID, f.path) for f in manifest.files}
