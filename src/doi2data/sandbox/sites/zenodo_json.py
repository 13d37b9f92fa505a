"""Zenodo's JSON documents, rendered from the world in the three shapes seen in the wild.

Shapes follow the recordings in ``shared/fixtures/recorded/zenodo`` (see recorded-fixtures §3):

* ``rdm`` - InvenioRDM's legacy-compatible ``/api/records/<id>`` (record-7834392-rdm-2026):
  ``recid`` string, ``files[{id,key,size,checksum:"md5:..",links.self=/content}]``, ~30 links;
* ``legacy`` - Invenio v3 (record-3459420-legacy-2019): ``files[{bucket,checksum,key,links.self=
  /api/files/<bucket>/<key>,size,type}]`` sorted by key, int ``owners``, 9 links;
* ``migration`` - Oct 2023 (zenodo/zenodo#2486, renku-python#3644): ``filename``/``filesize``,
  bare md5 ``checksum`` and ``links.self`` at ``/files/<file uuid>``, which 404s.

``/api/records/<id>/files`` always uses the RDM files-endpoint shape (record-4924875).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..world import Creator, FileSpec, Record, World

BASE = "https://zenodo.org"
_RESOURCE_TITLES = {"dataset": "Dataset", "presentation": "Presentation", "software": "Software"}


def key_url(key: str) -> str:
    """A file key as one path segment (``/`` -> ``%2F``; spaces and non-ASCII encoded)."""
    return quote(key, safe="")


def content_url(rec: Record, spec: FileSpec, *, raw: bool = False) -> str:
    return f"{BASE}/api/records/{rec.recid}/files/{spec.key if raw else key_url(spec.key)}/content"


def _modified(rec: Record) -> str:
    return rec.created.replace("T09:49:15", "T14:26:45")


def _creator(c: Creator, legacy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "affiliation": c.affiliation or None}
    if legacy:
        out = {"affiliation": c.affiliation, "name": c.name} if c.affiliation else {"name": c.name}
    if c.orcid:
        out["orcid"] = c.orcid
    return out


def _stats(rec: Record) -> dict[str, int]:
    n = int(rec.recid) % 997
    return {"downloads": n * 3, "unique_downloads": n * 2, "views": n * 5, "unique_views": n * 4,
            "version_downloads": n, "version_unique_downloads": n, "version_unique_views": n, "version_views": n}


def _metadata(world: World, rec: Record, legacy: bool) -> dict[str, Any]:
    versions = world.versions(rec.concept_recid)
    parent = {"pid_type": "recid", "pid_value": rec.concept_recid}
    relation: dict[str, Any] = {"index": versions.index(rec), "is_last": rec is versions[-1], "parent": parent}
    if legacy:
        relation.update(count=len(versions), last_child={"pid_type": "recid", "pid_value": versions[-1].recid})
    meta: dict[str, Any] = {
        "title": rec.title, "doi": rec.doi, "publication_date": rec.publication_date,
        "description": rec.description or f"<p>{rec.title}</p>", "access_right": rec.access,
        "creators": [_creator(c, legacy) for c in rec.creators], "keywords": list(rec.keywords),
        "resource_type": {"title": _RESOURCE_TITLES.get(rec.resource_type, "Other"), "type": rec.resource_type},
        "license": {"id": rec.license}, "relations": {"version": [relation]},
    }
    if rec.version:
        meta["version"] = rec.version
    if rec.embargo_date:
        meta["embargo_date"] = rec.embargo_date
    if rec.access == "restricted":
        meta["access_conditions"] = "<p>Access is granted on request to members of the project.</p>"
    if legacy:
        meta["access_right_category"] = {"open": "success", "embargoed": "warning"}.get(rec.access, "danger")
        meta["related_identifiers"] = [{"identifier": rec.concept_doi, "relation": "isVersionOf", "scheme": "doi"}]
        meta = dict(sorted(meta.items()))
    return meta


def rdm_file(world: World, rec: Record, spec: FileSpec) -> dict[str, Any]:
    return {"id": spec.file_id, "key": spec.key, "size": spec.size, "checksum": f"md5:{world.digest(spec)}",
            "links": {"self": content_url(rec, spec, raw=rec.raw_links)}}


def legacy_file(world: World, rec: Record, spec: FileSpec) -> dict[str, Any]:
    ext = spec.key.rsplit(".", 1)[-1].lower() if "." in spec.key.rsplit("/", 1)[-1] else ""
    return {"bucket": rec.bucket, "checksum": f"md5:{world.digest(spec)}", "key": spec.key,
            "links": {"self": f"{BASE}/api/files/{rec.bucket}/{quote(spec.key, safe='/')}"},
            "size": spec.size, "type": ext}


def migration_file(world: World, rec: Record, spec: FileSpec) -> dict[str, Any]:
    return {"checksum": world.digest(spec), "filename": spec.key, "filesize": spec.size, "id": spec.file_id,
            "links": {"self": f"{BASE}/api/records/{rec.recid}/files/{spec.file_id}"}}


def _rdm_links(rec: Record) -> dict[str, str]:
    api, html, concept = f"{BASE}/api/records/{rec.recid}", f"{BASE}/records/{rec.recid}", rec.concept_recid
    return {
        "self": api, "self_html": html, "preview_html": f"{html}?preview=1", "doi": f"https://doi.org/{rec.doi}",
        "self_doi": f"https://doi.org/{rec.doi}", "self_doi_html": f"{BASE}/doi/{rec.doi}",
        "reserve_doi": f"{api}/draft/pids/doi", "parent": f"{BASE}/api/records/{concept}",
        "parent_html": f"{BASE}/records/{concept}", "parent_doi": f"https://doi.org/{rec.concept_doi}",
        "parent_doi_html": f"{BASE}/doi/{rec.concept_doi}",
        "self_iiif_manifest": f"{BASE}/api/iiif/record:{rec.recid}/manifest",
        "self_iiif_sequence": f"{BASE}/api/iiif/record:{rec.recid}/sequence/default",
        "files": f"{api}/files", "media_files": f"{api}/media-files", "archive": f"{api}/files-archive",
        "archive_media": f"{api}/media-files-archive", "latest": f"{api}/versions/latest",
        "latest_html": f"{html}/latest", "versions": f"{api}/versions", "draft": f"{api}/draft",
        "access_links": f"{api}/access/links", "access_grants": f"{api}/access/grants",
        "access_users": f"{api}/access/users", "access_request": f"{api}/access/request", "access": f"{api}/access",
        "communities": f"{api}/communities", "communities-suggestions": f"{api}/communities-suggestions",
        "request_deletion": f"{api}/request-deletion", "file_modification": f"{api}/file-modification",
        "quota_increase": f"{api}/quota-increase", "requests": f"{api}/requests",
    }


def access_block(rec: Record) -> dict[str, Any]:
    """InvenioRDM's ``access``: record/files visibility, embargo and the resulting status."""
    embargoed = rec.access == "embargoed"
    return {"record": "public", "files": "public" if rec.access == "open" else "restricted",
            "embargo": {"active": embargoed, "until": rec.embargo_date if embargoed else None,
                        "reason": "Publication of the associated article is pending." if embargoed else None},
            "status": "metadata-only" if rec.access == "restricted" else rec.access}


def record_json(world: World, rec: Record) -> dict[str, Any]:
    """``GET /api/records/<id>`` in the record's shape."""
    if rec.shape == "legacy":
        return _legacy_record(world, rec)
    file_shape = migration_file if rec.shape == "migration" else rdm_file
    return {
        "created": rec.created, "modified": _modified(rec), "id": int(rec.recid), "conceptrecid": rec.concept_recid,
        "doi": rec.doi, "conceptdoi": rec.concept_doi, "doi_url": f"https://doi.org/{rec.doi}",
        "metadata": _metadata(world, rec, legacy=False), "title": rec.title, "links": _rdm_links(rec),
        "updated": _modified(rec), "recid": rec.recid, "revision": 3,
        "files": [file_shape(world, rec, f) for f in rec.files], "swh": {}, "owners": [{"id": "1001"}],
        "status": "published", "stats": _stats(rec), "state": "done", "submitted": True, "access": access_block(rec),
    }


def _legacy_record(world: World, rec: Record) -> dict[str, Any]:
    latest = world.latest(rec.concept_recid) or rec
    return {
        "conceptdoi": rec.concept_doi, "conceptrecid": rec.concept_recid, "created": rec.created, "doi": rec.doi,
        "files": [legacy_file(world, rec, f) for f in sorted(rec.files, key=lambda f: f.key)],
        "id": int(rec.recid),
        "links": {"badge": f"{BASE}/badge/doi/{rec.doi}.svg", "bucket": f"{BASE}/api/files/{rec.bucket}",
                  "conceptbadge": f"{BASE}/badge/doi/{rec.concept_doi}.svg",
                  "conceptdoi": f"https://doi.org/{rec.concept_doi}", "doi": f"https://doi.org/{rec.doi}",
                  "html": f"{BASE}/record/{rec.recid}", "latest": f"{BASE}/api/records/{latest.recid}",
                  "latest_html": f"{BASE}/record/{latest.recid}", "self": f"{BASE}/api/records/{rec.recid}"},
        "metadata": _metadata(world, rec, legacy=True), "owners": [1001], "revision": 2,
        "stats": {k: float(v) for k, v in _stats(rec).items()}, "updated": _modified(rec),
    }


def files_entry(world: World, rec: Record, spec: FileSpec, status: str = "completed") -> dict[str, Any]:
    """One files-endpoint entry; ``status`` other than ``completed``: an upload or remote fetch
    (``transfer.type`` ``F``) not finished yet, which has no checksum yet either."""
    base = f"{BASE}/api/records/{rec.recid}/files/{key_url(spec.key)}"
    done = status == "completed"
    entry = {"created": rec.created, "updated": _modified(rec), "mimetype": spec.mimetype,
             "version_id": spec.file_id[:-4] + "0001", "file_id": spec.file_id, "bucket_id": rec.bucket,
             "metadata": None, "access": {"hidden": False}, "links": {"self": base, "content": f"{base}/content"},
             "key": spec.key, "transfer": {"type": "L" if done else "F"}, "status": status,
             "checksum": f"md5:{world.digest(spec)}", "size": spec.size, "storage_class": "L"}
    if not done:
        entry.pop("checksum")
    return entry


def files_json(world: World, rec: Record, pending: dict[str, str] | None = None) -> dict[str, Any]:
    """``GET /api/records/<id>/files`` (InvenioRDM files endpoint: ``entries`` is a list);
    ``pending`` maps keys to a status other than ``completed``."""
    api = f"{BASE}/api/records/{rec.recid}"
    states = pending or {}
    return {"enabled": True, "links": {"self": f"{api}/files", "archive": f"{api}/files-archive"},
            "entries": [files_entry(world, rec, f, states.get(f.key, "completed")) for f in rec.files],
            "default_preview": None, "order": []}


def versions_json(world: World, rec: Record, page: int = 1, size: int = 10) -> dict[str, Any]:
    """A ``/versions`` search page (newest first) with ``links.next`` while more remain."""
    every = list(reversed(world.versions(rec.concept_recid)))
    hits = [record_json(world, v) for v in every[(page - 1) * size:page * size]]
    api = f"{BASE}/api/records/{rec.recid}/versions"
    links = {"self": f"{api}?page={page}&size={size}&sort=version"}
    if page * size < len(every):
        links["next"] = f"{api}?page={page + 1}&size={size}&sort=version"
    if page > 1:
        links["prev"] = f"{api}?page={page - 1}&size={size}&sort=version"
    return {"hits": {"hits": hits, "total": len(every)}, "sortBy": "version", "links": links}


def error_json(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message}


__all__ = ["BASE", "access_block", "content_url", "error_json", "files_entry", "files_json", "key_url",
           "record_json", "versions_json"]
