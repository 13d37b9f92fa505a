"""Shared pieces of the photon-and-neutron (PaN) facility adapters: PSI, ESRF, SciCat, DESY.

These facilities publish data through web servers rather than repository APIs, so the adapters
share parsers for what those servers emit - web directory listings (:mod:`.autoindex`), PSI
checksum files (:mod:`.checksumfile`), WebDAV/dCache documents (:mod:`.dav`) and SciCat JSON
(:mod:`.scicat_api`) - plus the few network helpers the plain :class:`~doi2data.http.Http`
lacks (:mod:`.net`: requests with bodies, text pages, route notes for ``--explain``).
Private to ``doi2data.adapters``: the parsers are pure and tested on plain data.
"""
