"""One tree served as nginx, Apache and lighttpd listings by :mod:`doi2data.sandbox.sites.webindex`.
"""

from __future__ import annotations


from ..world import FileSpec
from .facility_files import _bin, _txt


WEB_HOSTS = ("nginx.example.net", "apache.example.net", "lighttpd.example.net")
WEB_ROOT = "/pub/climate-run-7/"
WEB_FILES: tuple[FileSpec, ...] = (
    _txt("web", "README.txt", 6), _txt("web", "data/2019/temps.csv", 120, "text/csv"),
    _txt("web", "data/2020/temps.csv", 130, "text/csv"), _bin("web", "data/big.bin", 300_007),
    _txt("web", "odd names/α β.txt", 3))
