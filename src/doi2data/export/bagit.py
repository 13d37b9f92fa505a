"""BagIt 1.0 (RFC 8493) bags: complete after a verified download, or holey with ``fetch.txt``.

Layout written under ``DIR``::

    bagit.txt                 BagIt-Version: 1.0 / Tag-File-Character-Encoding: UTF-8
    bag-info.txt              Source-Organization, External-Identifier (DOI URL), External-Description
                              (title), Bagging-Date, Payload-Oxum, Bag-Software-Agent
    data/...                  the payload, at the engine's safe paths (complete bags only)
    manifest-<alg>.txt        "<hex>  data/<path>" for every payload file, per algorithm
    fetch.txt                 "<url> <size|-> data/<path>" (holey bags only)
    tagmanifest-<alg>.txt     digests of the tag files above

Which algorithms: a payload manifest must list *every* payload file, so only algorithms all
files have are used. A complete bag always has ``sha256`` (computed locally while re-checking
the repository's digests) plus every repository algorithm common to all files (often ``md5``);
a holey bag can only state what the repository declares - files without a usable digest
(md5/sha1/sha256/sha512) are left out and reported. Paths are percent-encoded for ``%``, CR and
LF as §2.1.3 requires. Tag files are written last, so a bag is never half-described.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .._version import __version__
from ..formats._common import Placed, Skips, place, uri
from ..model import Manifest
from ..transfer.engine import ProgressSink, TransferOptions
from .payload import ExportResult, LocalFile, declared, download_payload, hash_payload

#: Digest algorithms BagIt tools agree on, strongest first.
BAG_ALGORITHMS: tuple[str, ...] = ("sha512", "sha256", "sha1", "md5")


def _encode(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode ``%``, CR and LF in manifest and fetch paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _one_line(value: str) -> str:
    return " ".join(value.split())


def choose_algorithms(files: Sequence[LocalFile], skips: Skips) -> tuple[list[LocalFile], list[str]]:
    """The payload algorithms all kept files share; files with none of them are left out."""
    def usable(f: LocalFile) -> set[str]:
        return {a for a in BAG_ALGORITHMS if f.digests.get(a)}

    counts = {a: sum(a in usable(f) for f in files) for a in BAG_ALGORITHMS}
    best = max(BAG_ALGORITHMS, key=lambda a: (counts[a], -BAG_ALGORITHMS.index(a))) if files else "sha256"
    kept = [f for f in files if best in usable(f)]
    for f in files:
        if best not in usable(f):
            skips.add(f.item.entry.path, "no md5/sha1/sha256/sha512 digest for the bag manifest")
    common = set.intersection(*(usable(f) for f in kept)) if kept else {best}
    return kept, [a for a in BAG_ALGORITHMS if a in common]


def _bag_info(manifest: Manifest, files: Sequence[LocalFile]) -> str:
    ds = manifest.dataset
    fields = [
        ("Source-Organization", ds.publisher or ds.repository),
        ("External-Identifier", f"https://doi.org/{ds.doi}" if ds.doi else ds.landing_url),
        ("External-Description", ds.title),
        ("Bagging-Date", date.today().isoformat()),
        ("Bag-Software-Agent", f"doi2data/{__version__} <https://github.com/doi2data/doi2data>"),
    ]
    if all(f.size is not None for f in files):
        fields.append(("Payload-Oxum", f"{sum(f.size or 0 for f in files)}.{len(files)}"))
    if ds.landing_url:
        fields.append(("Internal-Sender-Description", f"files of {ds.landing_url}, listed and checked by doi2data"))
    return "".join(f"{k}: {_one_line(v)}\n" for k, v in fields if v)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)


def write_tag_files(root: Path, manifest: Manifest, files: Sequence[LocalFile], algorithms: Sequence[str],
                    *, holey: bool) -> None:
    """Write bagit.txt, bag-info.txt, payload manifests, fetch.txt (holey) and tag manifests."""
    ordered = sorted(files, key=lambda f: f.item.local)
    tags = {"bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
            "bag-info.txt": _bag_info(manifest, ordered)}
    for algorithm in algorithms:
        tags[f"manifest-{algorithm}.txt"] = "".join(
            f"{f.digests[algorithm]}  data/{_encode(f.item.local)}\n" for f in ordered)
    if holey:
        tags["fetch.txt"] = "".join(
            f"{uri(f.item.entry.urls[0])} {f.size if f.size is not None else '-'} data/{_encode(f.item.local)}\n"
            for f in ordered)
    for old in root.glob("tagmanifest-*.txt"):
        old.unlink()
    for name, text in tags.items():
        _write(root / name, text)
    for algorithm in algorithms:
        lines = [f"{hashlib.new(algorithm, text.encode()).hexdigest()}  {name}\n" for name, text in sorted(tags.items())]
        _write(root / f"tagmanifest-{algorithm}.txt", "".join(lines))


def write_bag(
    manifest: Manifest, dest: str | Path, *, holey: bool = False, options: TransferOptions | None = None,
    tokens: Sequence[str] = (), progress: ProgressSink | None = None,
) -> ExportResult:
    """Write a BagIt bag for ``manifest`` into ``dest`` and return what it holds.

    Complete (default): download into ``dest/data`` with the engine, re-check every file and add
    SHA-256; raises :class:`~doi2data.errors.DownloadIncomplete` (no tag files written) when a
    file failed. ``holey=True``: no download, ``fetch.txt`` lists the URLs instead.
    """
    root = Path(dest)
    (root / "data").mkdir(parents=True, exist_ok=True)  # BagIt needs data/ even when it is all holes
    stale = root / "fetch.txt"
    if holey:
        placed, skips = place(manifest, need_url=True, include_restricted=False)
        candidates = declared(placed)
    else:
        on_disk: list[Placed]
        on_disk, skips = download_payload(manifest, root / "data", options=options, tokens=tokens, progress=progress)
        candidates = hash_payload(root / "data", on_disk)
        stale.unlink(missing_ok=True)  # a holey bag filled in place is complete now
    files, algorithms = choose_algorithms(candidates, skips)
    if not files:
        skips.notes.append("no file could go into the bag")
    write_tag_files(root, manifest, files, algorithms, holey=holey)
    exported = skips.export("")
    return ExportResult(root, tuple(files), holey, tuple(algorithms), exported.skipped, exported.messages)


__all__ = ["BAG_ALGORITHMS", "choose_algorithms", "write_bag", "write_tag_files"]
