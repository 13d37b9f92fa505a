"""The default world: the datasets every test and the demo can rely on.

Each record exists to exercise one real-world situation (see the research notes in
``shared/research/recorded-fixtures.md`` §3): the demo dataset with awkward names and a concept
DOI, the legacy Invenio v3 shape, the Oct-2023 migration shape, restricted and embargoed access,
raw unescaped keys in links, hostile names, an unsupported repository, a missing DOI and a
non-DOI Handle. Text files get small, readable, deterministic content; binary ones are generated.
"""

from __future__ import annotations

import hashlib
import json

from .world import Creator, ExternalDataset, FileSpec, Record, World

DEMO_RECID = "1215979"
DEMO_DOI = "10.5281/zenodo.1215979"
DEMO_CONCEPT_DOI = "10.5281/zenodo.1215978"
DEMO_HANDLE = "20.500.11935/4a1a945b-a6aa-476c-a833-1754100355c8"
UNSUPPORTED_DOI = "10.99999/unsupported.1"
MISSING_DOI = "10.5281/zenodo.999999999"

_PEOPLE = (
    Creator("Keller", "Anna", "Paul Scherrer Institute", "0000-0002-1825-0097"),
    Creator("Okafor", "Chidi", "European Synchrotron Radiation Facility"),
    Creator("Lindqvist", "Sofia", "MAX IV Laboratory", "0000-0001-5109-3700"),
)


def _json(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def _numbers(seed: str, count: int) -> list[int]:
    raw = hashlib.shake_256(seed.encode()).digest(count * 2)
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


def _csv(seed: str, rows: int) -> bytes:
    nums = _numbers(seed, rows * 3)
    lines = ["température;intensité;état"]
    lines += [f"{20 + nums[3 * i] % 700 / 100:.2f};{nums[3 * i + 1]};{'été' if nums[3 * i + 2] % 2 else 'hiver'}"
              for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _log(seed: str, lines: int) -> bytes:
    nums = _numbers(seed, lines)
    text = [f"2018-04-1{i % 3 + 1} 12:{i % 60:02d}:{nums[i] % 60:02d}  frame {i + 1:04d}  exposure 0.1 s  "
            f"counts {nums[i]}" for i in range(lines)]
    return ("\n".join(text) + "\n").encode()


def _demo_files(version: str) -> tuple[FileSpec, ...]:
    readme = {"title": "Sandbox diffraction images (doi2data demo)", "version": version,
              "contents": {"images/": "CBF detector frames", "metadata/": "instrument and sample",
                           "notes/": "operator log", "données/": "temperature series"}}
    experiment = {"beamline": "X06SA", "wavelength_A": 1.0, "detector": "PILATUS 6M", "frames": 3,
                  "sample": {"name": "lysozyme", "temperature_K": 100},
                  "frames_md5_note": "see the repository listing for checksums",
                  "parameters": [{"frame": i, "phi_deg": i * 0.1, "exposure_s": 0.1} for i in range(1, 40)]}
    if version == "1.0":
        return (
            FileSpec("README.json", mimetype="application/json", data=_json(readme)),
            FileSpec("metadata/experiment.json", mimetype="application/json", data=_json(experiment)),
            FileSpec("images/frame_0001.cbf", 700_001),
        )
    return (
        FileSpec("README.json", mimetype="application/json", data=_json(readme)),
        FileSpec("metadata/experiment.json", mimetype="application/json", data=_json(experiment)),
        FileSpec("images/frame_0001.cbf", 786_433),
        FileSpec("images/frame_0002.cbf", 1_310_737),
        FileSpec("images/frame_0003.cbf", 2_097_147),
        FileSpec("notes/run log.txt", mimetype="text/plain", data=_log("run log", 60)),
        FileSpec("données/été.csv", mimetype="text/csv", data=_csv("été", 400)),
        FileSpec("tmp/scratch.json", mimetype="application/json", data=_json({"scratch": True, "keep": False})),
    )


def _text(key: str, words: str) -> FileSpec:
    return FileSpec(key, mimetype="text/plain", data=f"{words}\n".encode())


def _demo(recid: str, version: str, date: str) -> Record:
    return Record(recid, "1215978", "Sandbox diffraction images (doi2data demo)", files=_demo_files(version),
                  creators=_PEOPLE, keywords=("diffraction", "sandbox", "doi2data"), version=version,
                  publication_date=date,
                  description="<p>Generated detector frames and metadata for testing doi2data offline.</p>")


def default_records() -> list[Record]:
    return [
        _demo("1215900", "1.0", "2018-04-02"),
        _demo(DEMO_RECID, "1.1", "2018-04-13"),
        Record("3459420", "1035252", "Sandbox legacy record (Invenio v3 shape)", shape="legacy",
               landing_path="record", publication_date="2019-09-24", version="6", creators=_PEOPLE[1:],
               files=(FileSpec("network-part-i.txt.gz", 300_007, "application/gzip"),
                      FileSpec("network-part-ii.txt.gz", 700_001, "application/gzip"),
                      _text("README.md", "# Legacy record\nServed at /api/files/<bucket>/<key>."))),
        Record("8173303", "8173302", "Sandbox record in the Oct-2023 migration shape", shape="migration",
               publication_date="2023-07-21", resource_type="presentation", creators=_PEOPLE[:1],
               files=(FileSpec("summary-drawings.pdf", 400_009, "application/pdf"),
                      _text("notes.txt", "filename/filesize instead of key/size; links.self is broken"))),
        Record("3871094", "3871093", "Sandbox record with slashes and spaces in keys", raw_links=True,
               publication_date="2020-06-02", creators=_PEOPLE[2:],
               files=(FileSpec("Open Letter V4.pdf", 130_482, "application/pdf"),
                      FileSpec("front-matter/commonmeta-ruby-v3.0.1.zip", 200_003, "application/zip"))),
        Record("7000001", "7000010", "Sandbox hostile file names", publication_date="2024-01-10",
               creators=_PEOPLE[:1],
               files=tuple(_text(k, f"content of {k!r}") for k in (
                   "../escape.txt", "/abs/path.txt", "a/./b.txt", "C:\\win.txt", "dup.txt", "Dup.txt",
                   "sub/../../evil.txt", "ok.txt"))),
        Record("7000002", "7000020", "Sandbox restricted record", access="restricted", publication_date="2024-02-01",
               creators=_PEOPLE[1:2], files=(FileSpec("secret.h5", 50_000, "application/x-hdf5"),)),
        Record("7000003", "7000030", "Sandbox embargoed record", access="embargoed", embargo_date="2099-01-01",
               publication_date="2024-03-01", creators=_PEOPLE[2:],
               files=(FileSpec("later.h5", 60_000, "application/x-hdf5"),)),
        Record("7000100", "7000099", "Sandbox bulk-transfer record", publication_date="2024-04-01",
               creators=_PEOPLE[:1], files=(FileSpec("bulk/large.bin", 64 * 1024 * 1024 + 123),)),
    ]


def default_world() -> World:
    """A fresh default world (cheap: no bytes are generated until asked for)."""
    from . import facilities  # PSI, ESRF, DESY, SciCat and plain web folders (imported late: no cycle)
    from . import general  # Dataverse, Figshare/4TU, Dryad, OSF and B2SHARE datasets (imported late: no cycle)
    from . import mendeley_pangaea  # Mendeley Data and PANGAEA (imported late: no cycle)
    from .sites import signposting_repo  # reachable only through Signposting / JSON-LD
    from .sites import contenturl_repo  # reachable only through DataCite contentUrl
    from . import webfolders  # DOIs landing on plain web folders (the directory-listing layer)
    from .subsets_data import subset_records  # zips, tars, a CBF series, NeXus/HDF5 (remote subsets)

    return World(
        records=[*default_records(), *subset_records()],
        external=[ExternalDataset(UNSUPPORTED_DOI, "https://data.example.org/ds/1",
                                  "A dataset on a repository doi2data does not support", _PEOPLE[:1]),
                  *general.EXTERNAL, *signposting_repo.EXTERNAL, *facilities.EXTERNAL,
                  *mendeley_pangaea.EXTERNAL,
                  *contenturl_repo.EXTERNAL, *webfolders.EXTERNAL],
        handles={DEMO_HANDLE: f"https://zenodo.org/records/{DEMO_RECID}", **general.HANDLES},
    )


__all__ = ["DEMO_CONCEPT_DOI", "DEMO_DOI", "DEMO_HANDLE", "DEMO_RECID", "MISSING_DOI", "UNSUPPORTED_DOI",
           "default_records", "default_world"]
