"""The OSF project: nested folders and a folder of 105 files (two pages even at ``page[size]=100``).
Rendered by :mod:`doi2data.sandbox.sites.osf`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world import FileSpec
from .common import _bin, _csv, _text, hexid


# -- OSF -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OsfFile:
    spec: FileSpec              # key = materialized path without the leading "/"
    guid: str | None = None

    @property
    def id(self) -> str:
        return hexid("osf-file", self.spec.seed)


@dataclass(frozen=True)
class OsfNode:
    guid: str
    title: str
    created: str
    files: tuple[OsfFile, ...]
    category: str = "project"

    @property
    def doi(self) -> str:
        return f"10.17605/OSF.IO/{self.guid.upper()}"

    def folders(self) -> list[str]:
        """Every folder path (``raw/``, ``raw/run1/``), parents first."""
        found = {"/".join(f.spec.key.split("/")[:i]) + "/" for f in self.files
                 for i in range(1, f.spec.key.count("/") + 1)}
        return sorted(found, key=lambda p: (p.count("/"), p))


OSF_NODE = OsfNode("sbx7q", "Sandbox eye-tracking study (OSF)", "2019-08-10T16:33:29.246805", files=(
    OsfFile(_bin("protocol.pdf", 300_007, "osf:sbx7q:protocol", "application/pdf"), guid="pr7tc"),
    OsfFile(_csv("raw/run1/gaze.csv", "osf:sbx7q:run1:gaze", 150)),
    OsfFile(_text("raw/run1/events.json", "osf:sbx7q:run1:events", '{"events": [1, 2, 3]}', "application/json")),
    OsfFile(_csv("raw/run2/gaze.csv", "osf:sbx7q:run2:gaze", 180)),
    *(OsfFile(_text(f"many-files/item-{i:03d}.txt", f"osf:sbx7q:item:{i}", f"item {i}")) for i in range(105)),
))


__all__ = ["OSF_NODE", "OsfFile", "OsfNode"]
