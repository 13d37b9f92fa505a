"""The PaN search API (PaNOSC ``search-api`` / federated search): ``/api/Documents?filter=<JSON>``.

Shaped after ``panosc-eu/search-api`` (doc/api-calls.md, doc/query.md, doc/data-model.md,
doc/dataset-example-queries.md; common/mixins/parameters.js) and the federated service's
README and docs/document-example-queries-remote-data-sources.md (checked 2026-12-06):
LoopBack 3 routes (``/api/Documents``, ``/api/Documents/count``, ``/api/Datasets``; Express matches
paths case-insensitively), a JSON ``filter`` with ``where``/``include`` (relation + scope)/``limit``/
``skip`` and ``query`` (free text scored into ``score``, documents ordered by it), documents with
``pid``/``doi``/``type``/``title``/``summary``/``keywords``/``releaseDate``, datasets with
``instrument``/``techniques``/``parameters`` as included, the federated ``provider`` field.
Parameter scopes ``{"and": [{"name"}, {"value": {op: v}}, {"unit"}]}`` are compared in SI after
converting both sides as mathjs would (``angstrom``, ``nm``, ``eV``, ``keV``, ``K``, ``degC``; ``A``
is the ampere, a current, so it never matches a wavelength). A document is returned only when one
of its datasets satisfies every dataset scope (as "documents containing datasets where …" in the
docs). Simplification: a ``query`` keeps only documents scoring above zero.

The catalogue points at DOIs the sandbox already serves (the demo Zenodo record, the PSI, ESRF,
DESY and SciCat facility DOIs), plus one ESRF proposal without a DOI. ``/`` and any path outside
``/api`` answer the portal's HTML page, as a wrong ``--endpoint`` would. The facility-own host
``scicat.ess.eu`` serves its ESS slice under ``/panosc-api``.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.desy import DESY_DOI
from ..data.esrf import ESRF_DOI, ESRF_SESSION_DOI
from ..data.psi import PSI_DOI, PSI_MULTI_DOI, PSI_V4_DOI
from ..data.scicat import SCICAT_V4_DOI
from ..world import World
from .common import html_response, json_response

FEDERATED_HOST = "federated.panosc.ess.eu"
FACILITY_HOST = "scicat.ess.eu"
HOSTS = (FEDERATED_HOST, FACILITY_HOST)
_EV = 1.602176634e-19
#: mathjs spelling -> (dimension, factor to SI, offset): the few units the catalogue uses.
SI: dict[str, tuple[str, float, float]] = {
    "m": ("length", 1.0, 0.0), "nm": ("length", 1e-9, 0.0), "angstrom": ("length", 1e-10, 0.0),
    "um": ("length", 1e-6, 0.0), "mm": ("length", 1e-3, 0.0), "cm": ("length", 1e-2, 0.0),
    "pm": ("length", 1e-12, 0.0),
    "eV": ("energy", _EV, 0.0), "meV": ("energy", 1e-3 * _EV, 0.0), "keV": ("energy", 1e3 * _EV, 0.0),
    "MeV": ("energy", 1e6 * _EV, 0.0), "GeV": ("energy", 1e9 * _EV, 0.0), "J": ("energy", 1.0, 0.0),
    "K": ("temperature", 1.0, 0.0), "mK": ("temperature", 1e-3, 0.0), "degC": ("temperature", 1.0, 273.15),
    "A": ("current", 1.0, 0.0), "Pa": ("pressure", 1.0, 0.0), "bar": ("pressure", 1e5, 0.0),
    "kPa": ("pressure", 1e3, 0.0), "MPa": ("pressure", 1e6, 0.0), "GPa": ("pressure", 1e9, 0.0),
    "mbar": ("pressure", 1e2, 0.0), "s": ("time", 1.0, 0.0), "ms": ("time", 1e-3, 0.0),
    "deg": ("angle", 0.017453292519943295, 0.0), "rad": ("angle", 1.0, 0.0),
}
MAX_FILTER = 16 * 1024


def _facility_docs() -> list[dict[str, Any]]:
    from .. import datasets as d

    def ds(pid: str, title: str, created: str, size: int, facility: str, instrument: str,
           techniques: tuple[str, ...], params: tuple[tuple[str, Any, str | None], ...],
           files: tuple[tuple[str, str, int], ...] = (), samples: tuple[str, ...] = ()) -> dict[str, Any]:
        return {"pid": pid, "title": title, "isPublic": True, "creationDate": created, "size": size,
                "instrument": {"pid": f"20.500.12269/{instrument.lower()}", "name": instrument, "facility": facility},
                "techniques": [{"pid": f"PaNET{zlib.crc32(t.encode()) % 100000:05d}", "name": t} for t in techniques],
                "parameters": [{"name": n, "value": v, **({"unit": u} if u else {})} for n, v, u in params],
                "files": [{"id": f"{pid}/f{i}", "path": path, "name": name, "size": fsize}
                          for i, (path, name, fsize) in enumerate(files)],
                "samples": [{"pid": f"{pid}/s{i}", "name": name} for i, name in enumerate(samples)]}

    return [
        {"doi": d.DEMO_DOI, "keywords": ["diffraction", "lysozyme"], "releaseDate": "2018-04-13T00:00:00.000Z",
         "provider": "https://dacat.psi.ch/panosc-api", "datasets": [
             ds("20.500.11935/demo-1", "lysozyme frames", "2018-04-12T10:00:00.000Z", 4_200_000, "PSI", "X06SA",
                ("macromolecular crystallography",), (("wavelength", 1.0, "angstrom"), ("sample_temperature", 100, "K")),
                files=tuple(("images", f"frame_000{i}.cbf", 0) for i in (1, 2, 3)), samples=("lysozyme",))]},
        {"doi": PSI_DOI, "keywords": ["tomography", "pulmonary hypertension"], "releaseDate": "2021-06-01T00:00:00.000Z",
         "provider": "https://dacat.psi.ch/panosc-api", "datasets": [
             ds("20.500.11935/psi-tif", "tif stack", "2021-03-02T08:00:00.000Z", 3_000_000, "PSI", "TOMCAT",
                ("x-ray tomography",), (("photon_energy", 21, "keV"), ("sample_temperature", 20, "degC")))]},
        {"doi": PSI_MULTI_DOI, "keywords": ["operando", "battery", "tomography"],
         "releaseDate": "2022-09-01T00:00:00.000Z", "provider": "https://dacat.psi.ch/panosc-api", "datasets": [
             ds(f"20.500.11935/psi-multi-{i}", f"scan {i}", f"2022-0{i}-10T08:00:00.000Z", 1_000_000 * i, "PSI",
                "TOMCAT", ("x-ray tomography",), (("photon_energy", 25000, "eV"), ("sample_temperature", 25, "degC")))
             for i in (1, 2, 3)]},
        {"doi": PSI_V4_DOI, "keywords": ["lysozyme", "crystallography"], "releaseDate": "2025-02-01T00:00:00.000Z",
         "provider": "https://dacat.psi.ch/panosc-api", "datasets": [
             ds("20.500.11935/lyso-01", "lyso_01", "2025-01-20T09:00:00.000Z", 2_500_000, "PSI", "X06SA",
                ("macromolecular crystallography",), (("wavelength", 0.1, "nm"), ("sample_temperature", 100, "K")))]},
        {"doi": ESRF_DOI, "keywords": ["serial crystallography"], "releaseDate": "2022-05-01T00:00:00.000Z",
         "provider": "https://icatplus.esrf.fr/api", "datasets": [
             ds("ESRF-DC-818569841", "serial data", "2022-03-01T12:00:00.000Z", 17_000_000, "ESRF", "ID29",
                ("serial crystallography",), (("wavelength", 0.976, "angstrom"),))]},
        {"doi": ESRF_SESSION_DOI, "keywords": ["XAS", "catalysis", "operando"],
         "releaseDate": "2023-07-01T00:00:00.000Z", "provider": "https://icatplus.esrf.fr/api", "datasets": [
             ds("ESRF-ES-144479045-1", "Cu K-edge", "2023-04-02T12:00:00.000Z", 800_000, "ESRF", "BM23",
                ("x-ray absorption",), (("photon_energy", 8.98, "keV"), ("sample_temperature", 500, "K")))]},
        {"doi": DESY_DOI, "keywords": ["reflectometry", "machine learning"], "releaseDate": "2024-01-25T00:00:00.000Z",
         "provider": "https://public-data.desy.de/panosc-api", "datasets": [
             ds("DESY-XRR-1", "XRR curves", "2024-01-25T18:34:00.000Z", 270_000, "DESY", "P08",
                ("x-ray reflectivity",), (("wavelength", 1.5406, "angstrom"), ("sample_temperature", 303, "K")))]},
        {"doi": SCICAT_V4_DOI, "keywords": ["SANS"], "releaseDate": "2023-11-01T00:00:00.000Z",
         "provider": f"https://{FACILITY_HOST}/panosc-api", "datasets": [
             ds("20.500.12269/loki-1", "LoKI commissioning", "2023-10-01T00:00:00.000Z", 5_000_000, "ESS", "LoKI",
                ("small angle neutron scattering",), (("wavelength", 4.5, "angstrom"), ("sample_temperature", 295, "K")))]},
        {"pid": "186715647", "doi": " ", "type": "proposal", "title": "MA-1234 operando XAS of catalysts (proposal)",
         "summary": "Proposal record, no DOI of its own", "keywords": ["XAS"], "startDate": "2023-04-01T00:00:00.000Z",
         "provider": "https://icatplus.esrf.fr/api", "datasets": [
             ds("ESRF-PROP-1", "proposal scan", "2023-04-01T00:00:00.000Z", 100_000, "ESRF", "BM23",
                ("x-ray absorption",), (("photon_energy", 9.0, "keV"),))]},
    ]


def catalogue(world: World) -> list[dict[str, Any]]:
    """The Documents, titled from the world (entries whose DOI the world lacks are left out)."""
    docs = []
    for doc in _facility_docs():
        doi = doc["doi"].strip()
        if doi:
            pid = world.doi(doi)
            if pid is None:
                continue
            rec = pid.record
            title = rec.title if rec else (pid.external.title if pid.external else doi)
            summary = (rec.description if rec else "") or f"Data of {title}"
            base = {"pid": doi, "isPublic": True, "type": "publication", "title": title, "summary": summary}
            doc = {**base, **doc, "doi": doi}
        docs.append({"isPublic": True, "score": 0, **doc})
    return docs


class FilterError(ValueError):
    pass


def _si(value: Any, unit: Any) -> tuple[str, float] | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if unit is None:
        return ("", float(value))
    spec = SI.get(unit) if isinstance(unit, str) else None
    if spec is None:
        raise FilterError(f'Unit "{unit}" not found.')
    return spec[0], float(value) * spec[1] + spec[2]


def _compare(actual: float, cond: Any) -> bool:
    if not isinstance(cond, dict):
        return actual == cond
    ok = True
    for op, arg in cond.items():
        if op == "between" and isinstance(arg, list) and len(arg) == 2:
            ok &= arg[0] <= actual <= arg[1]
        elif op in ("lt", "lte", "gt", "gte", "eq", "neq") and isinstance(arg, (int, float)):
            ok &= {"lt": actual < arg, "lte": actual <= arg, "gt": actual > arg, "gte": actual >= arg,
                   "eq": actual == arg, "neq": actual != arg}[op]
        else:
            raise FilterError(f"unsupported operator {op!r}")
    return ok


def _param_matches(param: dict[str, Any], where: Any) -> bool:
    """A parameters-scope ``where`` (``and`` of name / value / unit) on one parameter, in SI."""
    parts = where.get("and", [where]) if isinstance(where, dict) else []
    name = next((p["name"] for p in parts if isinstance(p, dict) and "name" in p), None)
    value = next((p["value"] for p in parts if isinstance(p, dict) and "value" in p), None)
    unit = next((p["unit"] for p in parts if isinstance(p, dict) and "unit" in p), None)
    if name is not None and param.get("name") != name:
        return False
    if value is None:
        return True
    mine = _si(param.get("value"), param.get("unit"))
    if mine is None:
        return False
    if unit is None:
        return _compare(mine[1], value) if not mine[0] else _compare(float(param["value"]), value)
    dim, factor, offset = SI.get(unit) or (None, 1.0, 0.0)
    if dim is None:
        raise FilterError(f'Unit "{unit}" not found.')
    if dim != mine[0]:
        return False

    def scale(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: scale(x) for k, x in v.items()}
        if isinstance(v, list):
            return [scale(x) for x in v]
        return v * factor + offset if isinstance(v, (int, float)) else v

    return _compare(mine[1], scale(value))


def _text_match(value: Any, cond: Any) -> bool:
    if isinstance(cond, dict):
        needle = cond.get("like") or cond.get("ilike") or ""
        return isinstance(value, str) and str(needle).lower() in value.lower()
    return isinstance(value, str) and isinstance(cond, str) and value.lower() == cond.lower()


def _relation(ds: dict[str, Any], inc: Any) -> tuple[str, dict[str, Any], bool]:
    """Apply one dataset-level include; (relation, dataset with it, whether a scope excluded everything)."""
    name = inc if isinstance(inc, str) else inc.get("relation") if isinstance(inc, dict) else None
    scope = inc.get("scope", {}) if isinstance(inc, dict) else {}
    where = scope.get("where") if isinstance(scope, dict) else None
    if name == "instrument":
        inst = ds.get("instrument")
        ok = where is None or all(_text_match(inst.get(k), v) for k, v in where.items())
        return name, {"instrument": inst if ok else None}, where is not None and not ok
    if name == "techniques":
        rows = [t for t in ds.get("techniques", []) if where is None or all(_text_match(t.get(k), v)
                                                                          for k, v in where.items())]
        return name, {"techniques": rows}, where is not None and not rows
    if name == "parameters":
        rows = [p for p in ds.get("parameters", []) if where is None or _param_matches(p, where)]
        return name, {"parameters": rows}, where is not None and not rows
    if name in ("files", "samples"):
        return name, {name: list(ds.get(name, []))}, False
    raise FilterError(f'Relation "{name}" is not defined for Dataset model')


def _dataset(ds: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any] | None:
    where = scope.get("where") if isinstance(scope, dict) else None
    if isinstance(where, dict):
        for key, cond in where.items():
            if key == "creationDate":
                bounds = cond.get("between") if isinstance(cond, dict) else None
                low, high = bounds if isinstance(bounds, list) and len(bounds) == 2 else (
                    cond.get("gte", ""), cond.get("lte", "\uffff")) if isinstance(cond, dict) else (cond, cond)
                if not low <= ds["creationDate"] <= high:
                    return None
            else:
                raise FilterError(f"unsupported dataset where key {key!r}")
    out = {k: v for k, v in ds.items() if k not in ("instrument", "techniques", "parameters", "files", "samples")}
    includes = scope.get("include", []) if isinstance(scope, dict) else []
    merged: dict[str, list[dict[str, Any]]] = {}
    for inc in includes if isinstance(includes, list) else [includes]:
        name, part, excluded = _relation(ds, inc)
        if excluded:
            return None
        if name == "parameters" and "parameters" in out:  # several parameter scopes: every one must hold
            merged.setdefault("parameters", list(out["parameters"]))
            merged["parameters"] += [p for p in part["parameters"] if p not in merged["parameters"]]
            out["parameters"] = merged["parameters"]
            continue
        out.update(part)
    return out


def _score(doc: dict[str, Any], query: str) -> float:
    words = [w for w in query.lower().split() if w]
    hay = " ".join([doc.get("title", ""), doc.get("summary", ""), *doc.get("keywords", [])]).lower()
    return sum(w in hay for w in words) / len(words) if words else 0.0


def run_filter(docs: list[dict[str, Any]], flt: dict[str, Any]) -> list[dict[str, Any]]:
    """What ``GET /Documents?filter=`` answers for ``flt`` (raises FilterError for a malformed one)."""
    if not isinstance(flt, dict):
        raise FilterError("filter must be an object")
    out = []
    query = flt.get("query")
    where = flt.get("where") or {}
    includes = flt.get("include", [])
    for doc in docs:
        if not all(_text_match(doc.get(k), v) for k, v in where.items()):
            continue
        result = {k: v for k, v in doc.items() if k != "datasets"}
        if isinstance(query, str) and query.strip():
            result["score"] = _score(doc, query)
            if result["score"] <= 0:
                continue
        keep = True
        for inc in includes if isinstance(includes, list) else [includes]:
            name = inc if isinstance(inc, str) else inc.get("relation") if isinstance(inc, dict) else None
            if name != "datasets":
                raise FilterError(f'Relation "{name}" is not defined for Document model')
            scope = inc.get("scope", {}) if isinstance(inc, dict) else {}
            rows = [r for r in (_dataset(ds, scope) for ds in doc["datasets"]) if r is not None]
            if scope and not rows:
                keep = False
            result["datasets"] = rows
        if keep:
            out.append(result)
    if isinstance(query, str) and query.strip():
        out.sort(key=lambda d: -d["score"])
    skip, limit = flt.get("skip", 0), flt.get("limit", 0)
    if not isinstance(skip, int) or not isinstance(limit, int) or skip < 0 or limit < 0:
        raise FilterError("limit and skip must be non-negative integers")
    return out[skip:skip + limit] if limit else out[skip:]


PORTAL = ("<!DOCTYPE html><html><head><title>PaN Data Portal</title></head><body><h1>PaN data portal</h1>"
          "<p>Search the photon and neutron catalogues. API under <code>/api</code>.</p></body></html>")


def make_app(world: World, *, prefix: str = "/api", facility: str | None = None) -> Router:
    docs = catalogue(world)
    if facility is not None:
        docs = [d for d in docs if any(ds["instrument"]["facility"] == facility for ds in d["datasets"])]

    def error(status: int, message: str) -> Response:
        return json_response({"error": {"statusCode": status, "name": "Error", "message": message}}, status)

    def parse(request: Request, key: str = "filter") -> Any:
        raw = request.query_params.get(key, "")
        if len(raw) > MAX_FILTER:
            raise FilterError("filter too long")
        return json.loads(raw) if raw else {}

    async def documents(request: Request) -> Response:
        try:
            return json_response(run_filter(docs, parse(request)))
        except (FilterError, ValueError, TypeError, AttributeError) as exc:
            return error(400, str(exc) or "invalid filter")

    async def count(request: Request) -> Response:
        try:
            return json_response({"count": len(run_filter(docs, {"where": parse(request, "where")}))})
        except (FilterError, ValueError, TypeError, AttributeError) as exc:
            return error(400, str(exc) or "invalid where")

    async def datasets(request: Request) -> Response:
        try:
            flt = parse(request)
            rows = [{**ds, "documentId": d["pid"]} for d in docs for ds in d["datasets"]]
            skip, limit = int(flt.get("skip", 0)), int(flt.get("limit", 0))
            return json_response(rows[skip:skip + limit] if limit else rows[skip:])
        except (FilterError, ValueError, TypeError, AttributeError) as exc:
            return error(400, str(exc) or "invalid filter")

    async def portal(request: Request) -> Response:
        return html_response(PORTAL)

    routes = []
    for name, handler in (("documents/count", count), ("documents", documents), ("datasets", datasets)):
        for spelling in {name, name.capitalize(), name.title()}:
            routes.append(Route(f"{prefix}/{spelling}", handler, methods=["GET"]))
    routes.append(Route(f"{prefix}/{{rest:path}}", lambda r: error(404, "Shared class not found"), methods=["GET"]))
    routes.append(Route("/{rest:path}", portal, methods=["GET"]))
    return Router(routes=routes)


def make_sites(world: World) -> dict[str, Any]:
    """The federated service (every facility) and one facility's own API (ESS, under /panosc-api)."""
    return {FEDERATED_HOST: make_app(world), FACILITY_HOST: make_app(world, prefix="/panosc-api", facility="ESS")}


__all__ = ["FACILITY_HOST", "FEDERATED_HOST", "HOSTS", "SI", "catalogue", "make_app", "make_sites", "run_filter"]
