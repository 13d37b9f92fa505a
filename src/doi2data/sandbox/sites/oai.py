"""An OAI-PMH 2.0 provider: ``https://oai.pan-data.example/oai`` (Identify, ListMetadataFormats,
ListSets, ListIdentifiers, ListRecords, GetRecord), resumption tokens, deleted records, errors.

Shaped after the OAI-PMH 2.0 specification (openarchives.org/OAI/openarchivesprotocol.html) and
DataCite's OAI schema 1.1 (``datacite/schema`` source/oai/oai-1.1/oai.xsd), checked 2026-12-06:
``<OAI-PMH>`` with ``responseDate``, ``request`` (the arguments as attributes, the base URL as
text), then the verb's element or ``<error code>``; ``oai_dc`` (Dublin Core) and ``oai_datacite``
(``<oai_datacite><datacentreSymbol/><schemaVersion/><payload><resource kernel-4>``); day
granularity; ``deletedRecord`` persistent, deleted records as ``<header status="deleted">`` without
metadata; ``<resumptionToken completeListSize cursor>`` on every page of a multi-page list and an
empty one on the last; a resumption request must carry no other argument (else ``badArgument``).

Records are the DOIs the sandbox already serves (sets by prefix: ``zenodo``, ``psi``, ``esrf``,
``desy``, ``other``) plus two deleted records; ``bulk`` is a synthetic set of :data:`BULK` records
(DOIs under 10.5072, not resolvable; every 97th deleted) for harvests at scale, generated per page;
``expiring`` is a two-page set whose second token the provider no longer accepts
(``badResumptionToken``, as after a provider restart). ``/`` answers an HTML page.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import World
from .common import html_response

HOSTS = ("oai.pan-data.example",)
BASE_URL = "https://oai.pan-data.example/oai"
BULK = 100_000
PAGE = 50
BULK_PAGE = 1000
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/"),
    "oai_datacite": ("http://schema.datacite.org/oai/oai-1.1/oai.xsd", "http://schema.datacite.org/oai/oai-1.1/"),
}
SETS = {"zenodo": "Zenodo records", "psi": "Paul Scherrer Institute", "esrf": "ESRF", "desy": "DESY",
        "other": "Other repositories", "bulk": "Synthetic bulk set (harvest at scale)",
        "expiring": "A set whose resumption token expires"}
_PREFIX_SETS = {"10.5281": "zenodo", "10.16907": "psi", "10.15151": "esrf", "10.3204": "desy"}


@dataclass(frozen=True)
class Item:
    identifier: str
    datestamp: str
    set_spec: str
    deleted: bool = False
    doi: str = ""
    title: str = ""
    publisher: str = ""
    year: int = 0
    creators: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    centre: str = ""


def _world_items(world: World) -> list[Item]:
    items = []
    for pid in world.pids():
        if not pid.is_doi or pid.concept_of:
            continue
        doi = pid.handle
        spec = _PREFIX_SETS.get(doi.split("/", 1)[0], "other")
        rec, ext = pid.record, pid.external
        if rec is not None:
            items.append(Item(f"oai:pan-data.example:{doi.lower()}", rec.publication_date, spec, doi=doi,
                              title=rec.title, publisher="Zenodo", year=rec.year,
                              creators=tuple(c.name for c in rec.creators), subjects=rec.keywords,
                              centre="CERN.ZENODO"))
        elif ext is not None:
            items.append(Item(f"oai:pan-data.example:{doi.lower()}", f"{ext.year}-06-15", spec, doi=doi,
                              title=ext.title, publisher=ext.publisher, year=ext.year,
                              creators=tuple(c.name for c in ext.creators), centre=ext.client_id.upper()))
    items += [Item("oai:pan-data.example:withdrawn-1", "2024-05-01", "psi", deleted=True),
              Item("oai:pan-data.example:withdrawn-2", "2024-05-02", "esrf", deleted=True)]
    items += [Item(f"oai:pan-data.example:expiring-{i}", "2024-01-01", "expiring", doi=f"10.5072/expiring.{i}",
                   title=f"Expiring record {i}", publisher="Sandbox", year=2024) for i in range(PAGE + 5)]
    return sorted(items, key=lambda i: (i.datestamp, i.identifier))


def _bulk_item(i: int) -> Item:
    stamp = (date(2020, 1, 1) + timedelta(days=i // 100)).isoformat()
    return Item(f"oai:pan-data.example:bulk-{i:06d}", stamp, "bulk", deleted=i % 97 == 96, doi=f"10.5072/bulk.{i}",
                title=f"Bulk dataset {i}", publisher="Sandbox bulk facility", year=int(stamp[:4]),
                subjects=("x-ray diffraction",) if i % 2 else ("neutron scattering",), centre="SANDBOX.BULK")


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _token(offset: int, prefix: str, spec: str, start: str, end: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}|{prefix}|{spec}|{start}|{end}".encode()).decode()


def _untoken(token: str) -> tuple[int, str, str, str, str]:
    try:
        offset, prefix, spec, start, end = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return int(offset), prefix, spec, start, end
    except (ValueError, UnicodeError):
        raise OaiError("badResumptionToken", "The value of the resumptionToken argument is invalid or expired.") from None


def _day(value: str, what: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise OaiError("badArgument", f"Illegal {what} value {value!r}: this repository has day granularity "
                                      "(YYYY-MM-DD).") from None
    return value


def _header(item: Item) -> str:
    status = ' status="deleted"' if item.deleted else ""
    return (f"<header{status}><identifier>{escape(item.identifier)}</identifier><datestamp>{item.datestamp}"
            f"</datestamp><setSpec>{escape(item.set_spec)}</setSpec></header>")


def _metadata(item: Item, prefix: str) -> str:
    if prefix == "oai_dc":
        parts = [f"<dc:title>{escape(item.title)}</dc:title>"]
        parts += [f"<dc:creator>{escape(c)}</dc:creator>" for c in item.creators]
        parts += [f"<dc:subject>{escape(s)}</dc:subject>" for s in item.subjects]
        parts += [f"<dc:publisher>{escape(item.publisher)}</dc:publisher>", f"<dc:date>{item.year}</dc:date>",
                  "<dc:type>Dataset</dc:type>", f"<dc:identifier>https://doi.org/{escape(item.doi)}</dc:identifier>"]
        return ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/">' + "".join(parts) + "</oai_dc:dc>")
    creators = "".join(f"<creator><creatorName>{escape(c)}</creatorName></creator>" for c in item.creators)
    subjects = "".join(f"<subject>{escape(s)}</subject>" for s in item.subjects)
    resource = (f'<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">'
                f"{escape(item.doi.upper())}</identifier><creators>{creators}</creators><titles><title>"
                f"{escape(item.title)}</title></titles><publisher>{escape(item.publisher)}</publisher>"
                f"<publicationYear>{item.year}</publicationYear>"
                f"{f'<subjects>{subjects}</subjects>' if subjects else ''}"
                '<resourceType resourceTypeGeneral="Dataset"/></resource>')
    return (f'<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><schemaVersion>4</schemaVersion>'
            f"<datacentreSymbol>{escape(item.centre)}</datacentreSymbol><payload>{resource}</payload></oai_datacite>")


class Provider:
    def __init__(self, world: World, *, page: int = PAGE, bulk: int = BULK, bulk_page: int = BULK_PAGE) -> None:
        self.items = _world_items(world)
        self.page, self.bulk, self.bulk_page = page, bulk, bulk_page
        self.earliest = min((i.datestamp for i in self.items), default="2000-01-01")

    def _select(self, prefix: str, spec: str, start: str, end: str, offset: int) -> tuple[list[Item], int, int]:
        """(page items, complete list size, page size) for one list request."""
        if spec == "bulk":
            size = self.bulk_page
            first_day, last_day = date(2020, 1, 1), date(2020, 1, 1) + timedelta(days=(self.bulk - 1) // 100)
            lo = 0 if not start or start <= first_day.isoformat() else \
                min(self.bulk, (date.fromisoformat(start) - first_day).days * 100)
            hi = self.bulk if not end or end >= last_day.isoformat() else \
                max(0, min(self.bulk, ((date.fromisoformat(end) - first_day).days + 1) * 100))
            total = max(0, hi - lo)
            return [_bulk_item(lo + i) for i in range(offset, min(total, offset + size))], total, size
        chosen = [i for i in self.items if (not spec or i.set_spec == spec) and (not start or i.datestamp >= start)
                  and (not end or i.datestamp <= end) and (spec == "expiring" or i.set_spec != "expiring")]
        return chosen[offset:offset + self.page], len(chosen), self.page

    def list(self, verb: str, args: dict[str, str]) -> str:
        if "resumptionToken" in args:
            if set(args) - {"verb", "resumptionToken"}:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument.")
            offset, prefix, spec, start, end = _untoken(args["resumptionToken"])
            if spec == "expiring":
                raise OaiError("badResumptionToken", "The resumptionToken has expired.")
        else:
            unknown = set(args) - {"verb", "metadataPrefix", "set", "from", "until"}
            if unknown:
                raise OaiError("badArgument", f"Illegal argument {sorted(unknown)[0]!r}.")
            prefix = args.get("metadataPrefix", "")
            if not prefix:
                raise OaiError("badArgument", "Missing required argument 'metadataPrefix'.")
            spec, offset = args.get("set", ""), 0
            start = _day(args["from"], "from") if "from" in args else ""
            end = _day(args["until"], "until") if "until" in args else ""
            if start and end and start > end:
                raise OaiError("badArgument", "The 'from' date is after the 'until' date.")
            if spec and spec not in SETS:
                raise OaiError("badArgument", f"Unknown set {spec!r}.")
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"The metadata format {prefix!r} is not supported.")
        items, total, size = self._select(prefix, spec, start, end, offset)
        if total == 0:
            raise OaiError("noRecordsMatch", "The combination of the given values results in an empty list.")
        body = []
        for item in items:
            if verb == "ListIdentifiers":
                body.append(_header(item))
            elif item.deleted:
                body.append(f"<record>{_header(item)}</record>")
            else:
                body.append(f"<record>{_header(item)}<metadata>{_metadata(item, prefix)}</metadata></record>")
        if offset + size < total:
            token = _token(offset + size, prefix, spec, start, end)
            body.append(f'<resumptionToken completeListSize="{total}" cursor="{offset}">{token}</resumptionToken>')
        elif offset > 0:
            body.append(f'<resumptionToken completeListSize="{total}" cursor="{offset}"/>')
        return "".join(body)

    def get_record(self, args: dict[str, str]) -> str:
        prefix = args.get("metadataPrefix", "")
        if not prefix or "identifier" not in args:
            raise OaiError("badArgument", "GetRecord needs identifier and metadataPrefix.")
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"The metadata format {prefix!r} is not supported.")
        item = next((i for i in self.items if i.identifier == args["identifier"]), None)
        if item is None:
            raise OaiError("idDoesNotExist", f"No matching identifier {args['identifier']!r}.")
        meta = "" if item.deleted else f"<metadata>{_metadata(item, prefix)}</metadata>"
        return f"<record>{_header(item)}{meta}</record>"

    def answer(self, args: dict[str, str]) -> str:
        verb = args.get("verb", "")
        if verb == "Identify":
            return (f"<repositoryName>PaN data OAI-PMH provider (sandbox)</repositoryName><baseURL>{BASE_URL}</baseURL>"
                    "<protocolVersion>2.0</protocolVersion><adminEmail>oai@pan-data.example</adminEmail>"
                    f"<earliestDatestamp>{self.earliest}</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
                    "<granularity>YYYY-MM-DD</granularity>")
        if verb == "ListMetadataFormats":
            return "".join(f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{s}</schema>"
                           f"<metadataNamespace>{n}</metadataNamespace></metadataFormat>" for p, (s, n) in FORMATS.items())
        if verb == "ListSets":
            return "".join(f"<set><setSpec>{s}</setSpec><setName>{escape(n)}</setName></set>" for s, n in SETS.items())
        if verb in ("ListRecords", "ListIdentifiers"):
            return self.list(verb, args)
        if verb == "GetRecord":
            return self.get_record(args)
        raise OaiError("badVerb", "Illegal OAI verb.")


def _document(args: dict[str, str], inner: str, verb: str | None) -> str:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in args.items() if verb is not None)
    body = f"<{verb}>{inner}</{verb}>" if verb else inner
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
            'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"><responseDate>2026-12-06T12:00:00Z</responseDate>'
            f"<request{attrs}>{BASE_URL}</request>{body}</OAI-PMH>\n")


def make_app(world: World, **options: Any) -> Router:
    provider = Provider(world, **options)

    async def oai(request: Request) -> Response:
        args: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            if key in args:
                return _xml(_document({}, '<error code="badArgument">Repeated argument.</error>', None))
            args[key] = value
        try:
            inner = provider.answer(args)
        except OaiError as exc:
            return _xml(_document({}, f"<error code={quoteattr(exc.code)}>{escape(exc.message)}</error>", None))
        return _xml(_document(args, inner, args["verb"]))

    async def home(request: Request) -> Response:
        return html_response("<!DOCTYPE html><html><body><h1>PaN data</h1><p>OAI-PMH at /oai</p></body></html>")

    return Router(routes=[Route("/oai", oai, methods=["GET", "POST"]), Route("/{rest:path}", home, methods=["GET"])])


def _xml(text: str) -> Response:
    return Response(text.encode(), 200, media_type="text/xml; charset=utf-8")


__all__ = ["BASE_URL", "BULK", "HOSTS", "Provider", "make_app"]
