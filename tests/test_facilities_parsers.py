"""Pure parsers of the facility adapters (PSI, ESRF, SciCat, DESY/dCache, web listings) on plain data.

Samples follow the formats in shared/seeds/000 (PSI, ESRF), the dCache user guide and the research
notes pan-apis §3-5, §8; every parser is also fed random input, which may only ever raise a
:class:`~doi2data.errors.Doi2DataError`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doi2data.adapters import esrf, psi, scicat, webindex
from doi2data.adapters._pan.autoindex import is_autoindex, parse_autoindex
from doi2data.adapters._pan.checksumfile import ChecksumList, lookup, parse_checksum_file
from doi2data.adapters._pan.dav import parse_digest_list, parse_digests, parse_metalink, parse_propfind
from doi2data.adapters._pan.scicat_api import dataset_url, folder_names, normalize_pid, parse_dataset, \
    parse_origdatablocks, parse_publication
from doi2data.adapters.base import Resolved
from doi2data.errors import Doi2DataError, RepositoryError
from doi2data.sandbox.sites.webindex import render_listing

SHA1 = "2944f07af73e2cb3b0f78afbf0b9b325f593051e"
SHA1B = "4d652e9f2a7954f5f5eb20aae2928bb6749284bc"
BASE = "https://doi2.psi.ch/datasets/sls/X02DA/Data10/e17068/disk1/h11913_4_3_/tif/"
NGINX = f"""<html>
<head><title>Index of /datasets/sls/X02DA/Data10/e17068/disk1/h11913_4_3_/tif/</title></head>
<body>
<h1>Index of /datasets/sls/X02DA/Data10/e17068/disk1/h11913_4_3_/tif/</h1><hr><pre><a href="../">../</a>
<a href="flats/">flats/</a>                                             08-Feb-2018 02:55                   -
<a href="__checksum_filename_0__">__checksum_filename_0__</a>                            01-Jan-1970 00:00              132302
<a href="h11913_4_3_.log">h11913_4_3_.log</a>                                    08-Feb-2018 20:16                6817
<a href="h11913_4_3_0001.tif">h11913_4_3_0001.tif</a>                                08-Feb-2018 02:55             7997638
<a href="a%20very%20long%20name%20that%20nginx%20cuts%20at%20fifty%20characters.tif">a very long name that nginx cuts at fifty chara..&gt;</a> 08-Feb-2018 02:55    12
<a href="/elsewhere/x.tif">x.tif</a>                                              08-Feb-2018 02:55             5
<a href="sub/deeper/y.tif">y.tif</a>                                              08-Feb-2018 02:55             5
</pre><hr></body>
</html>
"""


def _resolved(url: str, doi: str | None = None, identifier: str | None = None) -> Resolved:
    return Resolved(identifier=identifier or (f"doi:{doi}" if doi else url), doi=doi, landing_url=url, metadata=None)


# -- web directory listings -------------------------------------------------------------------------

def test_nginx_listing_from_the_psi_talk() -> None:
    entries = {e.path: e for e in parse_autoindex(NGINX, BASE)}
    assert set(entries) == {"flats", "__checksum_filename_0__", "h11913_4_3_.log", "h11913_4_3_0001.tif",
                            "a very long name that nginx cuts at fifty characters.tif"}
    assert entries["flats"].is_dir and entries["flats"].url == BASE + "flats/" and entries["flats"].size is None
    assert entries["__checksum_filename_0__"].size == 132302
    assert entries["h11913_4_3_0001.tif"].size == 7997638 and entries["h11913_4_3_0001.tif"].modified
    assert entries["a very long name that nginx cuts at fifty characters.tif"].size == 12  # the href, not the text
    assert is_autoindex(NGINX) and not is_autoindex("<html><title>Zenodo</title></html>")


APACHE = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /pub/x</title></head><body><h1>Index of /pub/x</h1><table>
<tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/pub/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td><td><a href="data/">data/</a></td><td align="right">2018-02-08 02:55  </td><td align="right">  - </td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="big.bin">big.bin</a></td><td align="right">2018-02-08 02:55  </td><td align="right">7.6M</td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href="a%26b.txt">a&amp;b.txt</a></td><td align="right">2018-02-08 02:55  </td><td align="right">76 </td></tr>
</table></body></html>"""
LIGHTTPD = """<!DOCTYPE html><html><head><title>Index of /pub/x/</title></head><body><h2>Index of /pub/x/</h2>
<table summary="Directory Listing"><thead><tr><th class="n">Name</th><th class="m">Last Modified</th><th class="s">Size</th></tr></thead><tbody>
<tr class="d"><td class="n"><a href="../">Parent Directory</a>/</td><td class="m">&nbsp;</td><td class="s">- &nbsp;</td><td class="t">Directory</td></tr>
<tr class="d"><td class="n"><a href="data/">data</a>/</td><td class="m">2018-Feb-08 02:55:00</td><td class="s">- &nbsp;</td><td class="t">Directory</td></tr>
<tr><td class="n"><a href="big.bin">big.bin</a></td><td class="m">2018-Feb-08 02:55:00</td><td class="s">7.6M</td><td class="t">application/octet-stream</td></tr>
</tbody></table></body></html>"""


@pytest.mark.parametrize("page", [APACHE, LIGHTTPD], ids=["apache", "lighttpd"])
def test_apache_and_lighttpd_listings(page: str) -> None:
    entries = {e.path: e for e in parse_autoindex(page, "https://h.example/pub/x/")}
    assert entries["data"].is_dir and entries["big.bin"].size is None  # rounded sizes are not trusted
    assert "Parent Directory" not in entries and not any("?" in e.url for e in entries.values())
    if page is APACHE:
        assert entries["a&b.txt"].size == 76 and entries["a&b.txt"].url.endswith("/a%26b.txt")


@pytest.mark.parametrize("style", ["nginx", "apache", "lighttpd"])
def test_parser_reads_every_rendered_style(style: Any) -> None:
    files = [("a b.txt", 5), ("x" * 60 + ".bin", 2048), ("α.dat", 1_500_000)]
    page = render_listing(style, "/p/q/", ["sub dir"], files)
    entries = {e.path: e for e in parse_autoindex(page, "https://h.example/p/q/")}
    assert set(entries) == {"sub dir", "a b.txt", "x" * 60 + ".bin", "α.dat"}
    exact = {name: size for name, size in files if style == "nginx" or (style == "apache" and size < 1024)}
    assert {n: entries[n].size for n in exact} == exact


# -- PSI checksum files and download pages -----------------------------------------------------------

def test_checksum_file_format() -> None:
    text = (f"# Used python version for creating this checksum file: 3.6.8\r\n# checksum algorithm: sha1\r\n\n"
            f"tif    is_directory\ntif/proj_0001.tif    {SHA1}\r\n./tif/a b.tif    {SHA1B}\n"
            f"tif/two  spaces.tif    {SHA1}\ntrailing     {SHA1B}\nbad line without separator\n"
            "tif/short.tif    45c5eca1d6cd7ef3c90b5e9846b7cddb9e96b9e\n")
    sums = parse_checksum_file(text)
    assert sums.algorithm == "sha1" and sums.directories == {"tif"}
    assert dict(sums.digests) == {"tif/proj_0001.tif": SHA1, "tif/a b.tif": SHA1B, "tif/two  spaces.tif": SHA1,
                                  "trailing ": SHA1B}
    assert lookup(sums, "trailing") == SHA1B and lookup(sums, "missing") is None
    assert len(sums.problems) == 2 and "short.tif" in sums.problems[1]


def test_checksum_files_merge_and_unknown_algorithm() -> None:
    a, b = parse_checksum_file(f"x    {SHA1}\n"), parse_checksum_file(f"d    is_directory\ny    {SHA1B}\n")
    merged = ChecksumList().merged(a).merged(b)
    assert dict(merged.digests) == {"x": SHA1, "y": SHA1B} and merged.directories == {"d"}
    odd = parse_checksum_file(f"# checksum algorithm: whirlpool\nx    {SHA1}\n")
    assert not odd.digests and "whirlpool" in odd.problems[0]


SEED_PAGE = """Then type the following commands in your destination folder
And then the transfer commands:
 • wget -m -np https://doi2.psi.ch/datasets/sls/X02DA/Data10/e17068/disk1/h11913_4_3/tif ( size: 16243212118 , nFiles: 2033 )
You can simply repeat the wget command"""


def test_download_page_every_wget_line() -> None:
    assert psi.parse_download_page(SEED_PAGE) == [psi.DownloadLine(
        "https://doi2.psi.ch/datasets/sls/X02DA/Data10/e17068/disk1/h11913_4_3/tif/", 16243212118, 2033)]
    html = "<ul>" + "".join(f"<li>wget -m -np <a href= https://doi.psi.ch/datasets/d/{n} > https://doi.psi.ch/datasets/"
                            f"d/{n} </a> ( size: {i} , nFiles: 3 )</li>" for i, n in enumerate(["a", "b", "a", "c&amp;d"]))
    lines = psi.parse_download_page(html + "</ul>")
    assert [line.url.rsplit("/", 2)[1] for line in lines] == ["a", "b", "c&d"] and lines[1].size == 1
    assert psi.parse_download_page("<p>no commands here</p>") == []


def test_psi_landing_forms() -> None:
    doi = "10.16907/d699e1f7-e822-4396-8c64-34ed405f07b7"
    for url in (f"https://doi.psi.ch/detail/{doi}", f"https://doi.psi.ch/detail/{doi.replace('/', '%2F')}",
                f"https://doi2.psi.ch/detail/{doi.replace('/', '%252F')}"):
        assert psi.doi_from_landing(url) == doi
        assert psi.ADAPTER.recognize(_resolved(url)).record_id == doi  # type: ignore[union-attr]
    assert psi.doi_from_landing(f"https://zenodo.org/detail/{doi}") is None
    assert psi.ADAPTER.recognize(_resolved("https://x.org/", doi)) is not None
    assert psi.ADAPTER.recognize(_resolved("https://zenodo.org/records/1", "10.5281/zenodo.1")) is None


# -- dCache ------------------------------------------------------------------------------------------

METALINK = """<?xml version="1.0"?><metalink xmlns="urn:ietf:params:xml:ns:metalink">
<file name="public-file"><size>174</size><hash type="sha-1">b95d5d20afb9a49d1d779ad3a6a246bd03bfef34</hash>
<hash type="md5">7128e02d3779f8ff5141b9f5ac003be4</hash><url>https://prometheus.desy.de/Users/paul/public%2Dfile</url>
<updated>2023-10-05T04:05:00.682Z</updated></file><file name="no-hash"><size>5</size></file></metalink>"""
MD5_B64 = "rFb0uPrFc5zNtFd30xO+zw=="
MD5_HEX = base64.b64decode(MD5_B64).hex()
PROPFIND = f"""<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:ns1="http://www.dcache.org/2013/webdav" xmlns:ns2="http://srm.lbl.gov/StorageResourceManager">
<d:response><d:href>/public/dir/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop>
<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/public/dir/sub%20dir/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>
</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/public/dir/file-with-MD5</d:href><d:propstat><d:prop><d:getcontentlength>1099016</d:getcontentlength>
<ns1:Checksums>md5={MD5_B64},adler32=af543afc</ns1:Checksums><ns2:FileLocality>NEARLINE</ns2:FileLocality></d:prop>
<d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><d:getetag/></d:prop>
<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>
<d:response><d:href>/elsewhere/x</d:href><d:propstat><d:prop/><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"""


def test_dcache_metalink_and_propfind() -> None:
    files = parse_metalink(METALINK, "https://prometheus.desy.de/Users/paul/")
    assert [(f.name, f.size) for f in files] == [("public-file", 174), ("no-hash", 5)]
    assert dict(files[0].checksums) == {"sha1": "b95d5d20afb9a49d1d779ad3a6a246bd03bfef34",
                                        "md5": "7128e02d3779f8ff5141b9f5ac003be4"}
    assert files[0].url.endswith("public%2Dfile") and files[1].url == "https://prometheus.desy.de/Users/paul/no-hash"
    entries = {e.name: e for e in parse_propfind(PROPFIND, "https://dc.example/public/dir/")}
    assert set(entries) == {"sub dir", "file-with-MD5"}
    assert entries["sub dir"].is_dir and entries["sub dir"].url == "https://dc.example/public/dir/sub%20dir/"
    f = entries["file-with-MD5"]
    assert (f.size, dict(f.checksums), f.nearline_only) == (1099016, {"md5": MD5_HEX, "adler32": "af543afc"}, True)
    with pytest.raises(RepositoryError):
        parse_metalink(PROPFIND, "https://x/")
    with pytest.raises(RepositoryError):
        parse_propfind("<not xml", "https://x/")


def test_digest_headers_rfc3230_and_rfc9530() -> None:
    assert parse_digests({"digest": f"adler32=5ae07809,md5={MD5_B64}"}) == {"adler32": "5ae07809", "md5": MD5_HEX}
    sha = "ab" * 32
    got = parse_digests({"repr-digest": f"sha-256=:{base64.b64encode(bytes.fromhex(sha)).decode()}:, "
                                        f"adler=:{base64.b64encode(bytes.fromhex('0a0b0c0d')).decode()}:",
                         "digest": "SHA=" + base64.b64encode(bytes(20)).decode()})
    assert got == {"sha256": sha, "adler32": "0a0b0c0d", "sha1": "00" * 20}
    assert parse_digest_list("md5=not-base64!,unixsum=123,adler32=zz") == {}


# -- SciCat ------------------------------------------------------------------------------------------

def test_publication_shapes() -> None:
    v3 = {"_id": "10.16907/x", "creator": ["Jane Doe"], "publisher": "PSI", "publicationYear": 2021, "title": "T",
          "pidArray": ["20.500.11935/a", "20.500.11935/20.500.11935/b"], "downloadLink": "https://doi.psi.ch/d/",
          "sizeOfArchive": 17, "numberOfFiles": 2}
    v4 = {"pid": "10.17199/y", "doi": "10.17199/y", "title": "U", "datasetPids": ["p/1"],
          "metadata": {"creators": [{"name": "Ann"}], "publisher": {"name": "ESS"}, "publicationYear": "2024",
                       "downloadLink": "https://files/"}}
    a, b = parse_publication(v3), parse_publication(v4)
    assert (a.doi, a.creators, a.dataset_pids, a.download_link, a.size) == (
        "10.16907/x", ("Jane Doe",), ("20.500.11935/a", "20.500.11935/b"), "https://doi.psi.ch/d/", 17)
    assert (b.doi, b.creators, b.publisher, b.year, b.download_link) == ("10.17199/y", ("Ann",), "ESS", 2024, "https://files/")
    assert normalize_pid("20.500.11935/20.500.11935/abc") == "20.500.11935/abc" == normalize_pid("20.500.11935/abc")
    with pytest.raises(RepositoryError):
        parse_publication({"title": "no doi"})


def test_origdatablocks_and_datasets() -> None:
    blocks = [{"chkAlg": "SHA-256", "dataFileList": [{"path": "/src/f/a.h5", "size": 3, "chk": "AB" * 32},
                                                      {"path": "sub//b.h5", "size": "4"}]},
              {"chkAlg": "blake2b", "dataFileList": [{"path": "c.h5", "size": 1, "chk": "00"}, {"size": 2}]}]
    files, problems = parse_origdatablocks(blocks, "/src/f")
    assert [(f.path, f.size, dict(f.checksums)) for f in files] == [
        ("a.h5", 3, {"sha256": "ab" * 32}), ("sub/b.h5", 4, {}), ("c.h5", 1, {})]
    assert len(problems) == 2
    ds = parse_dataset({"pid": "p/1", "sourceFolder": "/src/f", "origdatablocks": blocks})
    assert ds.source_folder == "/src/f" and ds.files is not None and len(ds.files) == 3


@pytest.mark.parametrize("link, folder, url", [
    ("https://doi2.psi.ch/datasets/sls/X02DA/disk1/", "/sls/X02DA/disk1/h1/tif", "https://doi2.psi.ch/datasets/sls/X02DA/disk1/h1/tif/"),
    ("https://s.example:2880", "/desy/a b", "https://s.example:2880/desy/a%20b/"),
    ("https://f.example/d/a/b", "/a/b", "https://f.example/d/a/b/"),
])
def test_dataset_url(link: str, folder: str, url: str) -> None:
    assert dataset_url(link, folder) == url


def test_folder_names_disambiguate() -> None:
    assert folder_names(["/a/h1/tif", "/a/h2/tif", "/x"]) == ["h1/tif", "h2/tif", "x"]
    assert folder_names(["same", "same"]) == ["same", "same~2"]


def test_scicat_recognition() -> None:
    doi = "10.17199/abc"
    assert scicat.ADAPTER.recognize(_resolved("https://scicat.ess.eu/detail/10.17199%2Fabc", doi)).api_base == \
        "https://scicat.ess.eu/api"  # type: ignore[union-attr]
    ref = scicat.ADAPTER.recognize(_resolved(f"https://unknown.example/detail/{doi}"))
    assert ref is not None and ref.record_id == doi and ref.api_base == "https://unknown.example"
    assert scicat.ADAPTER.recognize(_resolved("https://unknown.example/records/1", "10.1/x")) is None
    assert scicat.configured({"DOI2DATA_SCICAT": "a.example api=https://a.example/api/v3 storage=https://s, b.example"}) \
        == {"a.example": scicat.Instance("a.example", "https://a.example/api", "https://s"),
            "b.example": scicat.Instance("b.example", "https://b.example/api")}


# -- ESRF --------------------------------------------------------------------------------------------

def test_esrf_documents() -> None:
    assert esrf.parse_credentials({"authentication": {"anonymous": {"plugin": "db", "username": "reader",
                                                                    "password": "reader"}}})["plugin"] == "db"
    assert esrf.parse_credentials({"authentication": {}}) is None and esrf.parse_credentials([]) is None
    (ds,) = esrf.parse_datasets([{"id": 7, "name": "s_1", "location": "/data/v/s_1",
                                  "parameters": [{"name": "__fileCount", "value": "12"}]}])
    assert (ds.id, ds.file_count) == ("7", 12)
    files = esrf.parse_datafiles([{"Datafile": {"id": 1, "name": "a.h5", "location": "/data/v/s_1//scan/a.h5",
                                                "fileSize": 9}}, {"id": 2, "location": "/other/b.h5"}])
    assert [esrf.relative_path(f, ds) for f in files] == ["scan/a.h5", "b.h5"]
    with pytest.raises(RepositoryError):
        esrf.parse_datafiles([{"Datafile": {"name": "no id"}}])


def test_esrf_and_webindex_recognition() -> None:
    assert esrf.ADAPTER.recognize(_resolved("https://doi.esrf.fr/x", "10.15151/esrf-dc-818569841")).record_id == \
        "10.15151/ESRF-DC-818569841"  # type: ignore[union-attr]
    assert esrf.ADAPTER.recognize(_resolved("https://doi.esrf.fr/10.15151/ESRF-ES-1")) is not None
    assert esrf.ADAPTER.recognize(_resolved("https://x.org/", "10.15151/OTHER-1")) is None
    typed = "https://files.example/pub/data/"
    assert webindex.ADAPTER.recognize(_resolved(typed, identifier=typed)) is not None
    assert webindex.ADAPTER.recognize(_resolved("https://osf.io/abcde/", "10.17605/osf.io/abcde")) is None
    assert webindex.ADAPTER.recognize(_resolved("https://files.example/pub/x.csv", identifier="https://files.example/pub/x.csv")) is None


# -- robustness: random input raises only doi2data errors -----------------------------------------------

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
                         ["doi", "_id", "pid", "pidArray", "datasetPids", "metadata", "creator", "downloadLink", "id",
                          "name", "location", "fileSize", "Datafile", "parameters", "chkAlg", "dataFileList", "path",
                          "size", "chk", "authentication", "anonymous", "value", "sourceFolder"]), inner, max_size=5),
                     max_leaves=20)
_HTML = st.lists(st.sampled_from(['<a href="', '">', "</a>", "x/", "../", "?C=N", " 123 ", "7.6M", "\n", "</tr>",
                                  "<title>Index of /", "wget -m -np ", "https://h/d/", "( size: 5 , nFiles: 1 )",
                                  "    ", "is_directory", SHA1, "# checksum algorithm: md5", "%", "&amp;", "<"]),
                 max_size=30).map("".join) | st.text(max_size=200)


def _only_ours(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Doi2DataError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HTML)
def test_text_parsers_never_crash(text: str) -> None:
    parse_autoindex(text, "https://h/d/")
    parse_checksum_file(text)
    psi.parse_download_page(text)
    parse_digest_list(text)
    for fn in (parse_metalink, parse_propfind):
        _only_ours(fn, text, "https://h/d/")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_json_parsers_never_crash(doc: Any) -> None:
    json.dumps(doc)
    for fn in (parse_publication, parse_dataset, esrf.parse_datasets, esrf.parse_datafiles, esrf.parse_credentials):
        _only_ours(fn, doc)
    parse_origdatablocks(doc, "/x")
