"""Gateway building blocks without a server: negotiation, archives, signposting, safety, cache."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("jinja2")

from doi2data.errors import IdentifierNotFound, UsageError  # noqa: E402
from doi2data.identifiers import parse_identifier  # noqa: E402
from doi2data.model import Dataset, FileEntry, Manifest  # noqa: E402
from doi2data.select import select  # noqa: E402
from doi2data.service import archive as archive_mod  # noqa: E402
from doi2data.service.archive import Member, TarWriter, ZipWriter  # noqa: E402
from doi2data.service.cache import MemoryStore, SQLiteStore, manifest_from_json, open_store  # noqa: E402
from doi2data.service.manifests import ManifestService  # noqa: E402
from doi2data.service.negotiate import choose, negotiate  # noqa: E402
from doi2data.service.problems import DestinationRefused, NotAcceptable  # noqa: E402
from doi2data.service.safety import DestinationPolicy, TokenBucket, is_public  # noqa: E402
from doi2data.service.signposting import dataset_links, glob_escape, license_url, linkset  # noqa: E402

MANIFEST = Manifest(
    Dataset("10.1234/x", title="T", creators=("A, B",), publisher="P", year=2020, license="cc-by-4.0"),
    (FileEntry("a.json", 3, {"md5": "0" * 32}, ("https://h.example/a",)),
     FileEntry("d/we[ir]d*?.txt", 5, {}, ("https://h.example/w",), media_type="text/plain"),
     FileEntry("secret.h5", 9, {}, ("https://h.example/s",), access="restricted")),
)


# -- negotiation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("accept", "name"), [
    (None, "json"), ("*/*", "json"), ("application/json", "json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"),
    ("application/metalink4+xml", "metalink"), ("application/linkset+json", "linkset"),
    ("application/linkset", "linkset-text"), ("application/*;q=0.5, text/html;q=0.4", "json"),
    ("application/linkset+json,application/linkset;q=0.9,application/json;q=0.3,text/plain;q=0.2", "linkset"),
    ("text/*", "html"),
])
def test_negotiation_table(accept: str | None, name: str) -> None:
    assert negotiate(accept).name == name


def test_negotiation_refuses_and_format_overrides() -> None:
    with pytest.raises(NotAcceptable):
        negotiate("image/png")
    with pytest.raises(NotAcceptable):
        negotiate("application/json;q=0")
    assert choose("text/html", "metalink").name == "metalink"
    assert choose(None, "sha256sum").media_type.startswith("text/plain")
    with pytest.raises(UsageError):
        choose(None, "nope")


# -- archives ------------------------------------------------------------------------------------
def _stream(writer: ZipWriter | TarWriter, datas: list[bytes]) -> bytes:
    out = io.BytesIO()
    for member, data in zip(writer.members, datas):
        out.write(writer.start(member))
        out.write(data)
        member.crc, member.written = zlib.crc32(data), len(data)
        out.write(writer.finish(member))
    out.write(writer.end())
    return out.getvalue()


DATAS = [b"hello", bytes(range(256)) * 300, b"", "é".encode() * 7]
NAMES = ["a.txt", "dir/b.bin", "empty", "données/été.csv"]


def _members() -> list[Member]:
    return [Member(n, FileEntry(n, size=len(d))) for n, d in zip(NAMES, DATAS)]


@pytest.mark.parametrize("force", [False, True])
def test_zip_size_is_predicted_exactly_and_readable(force: bool, tmp_path: Path) -> None:
    writer = ZipWriter(_members(), 2018, force_zip64=force)
    predicted = writer.predicted_size()
    blob = _stream(writer, DATAS)
    assert predicted == len(blob) == writer.position
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.testzip() is None
        assert [zf.read(n) for n in NAMES] == DATAS
        assert all(i.flag_bits & 0x08 for i in zf.infolist())  # data descriptors
        assert zf.getinfo("a.txt").date_time[:3] == (2018, 1, 1)
    if shutil.which("unzip"):
        (tmp_path / "a.zip").write_bytes(blob)
        run = subprocess.run(["unzip", "-t", str(tmp_path / "a.zip")], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_zip64_records_when_limits_are_crossed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the 4 GiB limit so real ZIP64 paths (sizes and offsets) run on small data."""
    monkeypatch.setattr(archive_mod, "LIMIT32", 200)
    writer = ZipWriter(_members(), None)
    predicted = writer.predicted_size()
    blob = _stream(writer, DATAS)
    assert predicted == len(blob)
    assert b"PK\x06\x06" in blob and b"PK\x06\x07" in blob  # zip64 end record and locator
    monkeypatch.undo()  # zipfile reads with the real limit: the placeholders must still decode
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert [zf.read(n) for n in NAMES] == DATAS


def test_zip_with_unknown_size_is_still_valid() -> None:
    members = [Member("x.bin", FileEntry("x.bin", size=None))]
    writer = ZipWriter(members, 2020)
    assert writer.predicted_size() is None
    blob = _stream(writer, [b"abc" * 100])
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.read("x.bin") == b"abc" * 100


def test_tar_size_is_predicted_exactly_and_readable() -> None:
    long_name = "deep/" * 30 + "name.txt"
    members = _members() + [Member(long_name, FileEntry(long_name, size=3))]
    writer = TarWriter(members, 2018)
    predicted = writer.predicted_size()
    blob = _stream(writer, DATAS + [b"xyz"])
    assert predicted == len(blob)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tf:
        assert [tf.extractfile(n).read() for n in NAMES + [long_name]] == DATAS + [b"xyz"]  # type: ignore[union-attr]


# -- signposting ---------------------------------------------------------------------------------
def test_license_urls() -> None:
    assert license_url("cc-by-4.0") == "https://creativecommons.org/licenses/by/4.0/"
    assert license_url("CC-BY-SA-4.0") == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert license_url("cc0-1.0") == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert license_url("mit") == "https://spdx.org/licenses/MIT"
    assert license_url("https://x.example/l") == "https://x.example/l"
    assert license_url(None) is None and license_url("some words") is None


def test_item_patterns_select_exactly_one_file() -> None:
    for entry in MANIFEST.files:
        assert [f.path for f in select(MANIFEST, glob_escape(entry.path)).files] == [entry.path]


def test_dataset_links_and_linkset() -> None:
    ident = parse_identifier("10.1234/x")
    links = dataset_links("https://gw/10.1234/x", ident, MANIFEST, max_items=1)
    rels = [link.rel for link in links]
    assert rels.count("item") == 1 and {"cite-as", "describedby", "type", "license", "linkset"} <= set(rels)
    doc = linkset("https://gw/10.1234/x", ident, MANIFEST)
    context = doc["linkset"][0]  # type: ignore[index]
    assert context["cite-as"] == [{"href": "https://doi.org/10.1234/x"}]
    assert len(context["item"]) == 2  # restricted files are not items
    assert doc["linkset"][1]["collection"][0]["href"] == "https://gw/10.1234/x"  # type: ignore[index]


# -- safety --------------------------------------------------------------------------------------
def test_is_public() -> None:
    for bad in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1"):
        assert not is_public(ipaddress.ip_address(bad)), bad
    for good in ("93.184.216.34", "2606:4700::1111"):
        assert is_public(ipaddress.ip_address(good)), good


def test_destination_policy() -> None:
    table = {"public.example": ["93.184.216.34"], "inside.example": ["10.0.0.5"],
             "mixed.example": ["93.184.216.34", "127.0.0.1"], "lab.example": ["10.9.0.1"]}

    async def fake_dns(host: str) -> list[str]:
        return table.get(host, [])

    async def go() -> None:
        policy = DestinationPolicy(allow_hosts=["*.allowed.example"], allow_networks=["10.9.0.0/16"], resolver=fake_dns)
        await policy.check("https://public.example/x")
        await policy.check("https://a.allowed.example/x")
        await policy.check("https://lab.example/x")  # allow-listed network
        with pytest.raises(DestinationRefused):  # unresolvable here: refused by default (strict DNS)
            await policy.check("https://nowhere.example/x")
        for url in ("https://inside.example/x", "https://mixed.example/", "http://127.0.0.1:8080/",
                    "http://[::1]/", "http://169.254.169.254/latest/meta-data", "https://localhost/",
                    "https://printer.local/", "ftp://public.example/x"):
            with pytest.raises(DestinationRefused):
                await policy.check(url)
        relaxed = DestinationPolicy(resolver=fake_dns, strict_dns=False)  # serve --proxy-dns
        await relaxed.check("https://nowhere.example/x")  # the proxy (if any) resolves it

    asyncio.run(go())


def test_destination_policy_from_worker_threads() -> None:
    """The blocking client's hook: same rules, resolves on its own (no event loop needed)."""
    calls: list[str] = []

    async def fake_dns(host: str) -> list[str]:
        calls.append(host)
        return {"public.example": ["93.184.216.34"], "inside.example": ["10.0.0.5"]}.get(host, [])

    policy = DestinationPolicy(allow_hosts=["ok.example"], resolver=fake_dns)
    policy.check_sync("https://public.example/x")
    policy.check_sync("https://public.example/y")
    policy.sync_hook(httpx.Request("GET", "https://ok.example/"))
    assert calls == ["public.example"]  # cached; allow-listed hosts are not resolved
    for url in ("https://inside.example/x", "http://127.0.0.1/", "https://localhost/"):
        with pytest.raises(DestinationRefused):
            policy.sync_hook(httpx.Request("GET", url))


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, 3, clock=lambda: now[0])
    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("a") == pytest.approx(0.5)
    assert bucket.take("b") == 0  # per client
    now[0] += 1.0
    assert bucket.take("a") == 0
    assert TokenBucket(0, 1).take("x") == 0  # rate 0: no limit


# -- cache ---------------------------------------------------------------------------------------
def test_manifest_json_round_trip() -> None:
    assert manifest_from_json(MANIFEST.to_json()) == MANIFEST


def test_open_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("memory:"), MemoryStore)
    assert isinstance(open_store(str(tmp_path / "c.sqlite")), SQLiteStore)
    assert open_store(f"sqlite:///{tmp_path}/c.sqlite").path == tmp_path / "c.sqlite"  # type: ignore[attr-defined]
    with pytest.raises(UsageError):
        open_store("redis://x")


def test_ttl_stale_while_revalidate_and_single_flight(tmp_path: Path) -> None:
    now = [1000.0]
    calls: list[str] = []

    async def resolve(ident):  # type: ignore[no-untyped-def]
        calls.append(ident.value)
        await asyncio.sleep(0.01)
        if ident.value == "10.1/missing":
            raise IdentifierNotFound("no such DOI")
        return MANIFEST

    async def go() -> None:
        store = SQLiteStore(tmp_path / "m.sqlite")
        svc = ManifestService(store, resolve, ttl=10, stale=100, clock=lambda: now[0])
        ident = parse_identifier("10.1234/x")
        results = await asyncio.gather(*(svc.get(ident) for _ in range(5)))
        assert [s for _, s in results] == ["miss"] * 5 and len(calls) == 1  # single flight
        assert (await svc.get(ident))[1] == "hit"
        now[0] += 50  # stale: served at once, refreshed in the background
        entry, state = await svc.get(ident)
        assert state == "stale" and entry.manifest == MANIFEST
        await asyncio.sleep(0.1)
        assert len(calls) == 2 and (await svc.get(ident))[1] == "hit"
        now[0] += 500  # too old: the request waits
        assert (await svc.get(ident))[1] == "miss" and len(calls) == 3
        # a second process (fresh memory) finds the row in the shared store
        other = ManifestService(store, resolve, ttl=10, stale=100, clock=lambda: now[0])
        assert (await other.get(ident))[1] == "hit" and len(calls) == 3
        missing = parse_identifier("10.1/missing")
        for _ in range(2):
            with pytest.raises(IdentifierNotFound):
                await svc.get(missing)
        assert calls.count("10.1/missing") == 1  # remembered (negative TTL)
        await svc.close()
        await store.close()

    asyncio.run(go())


# -- subsets: parameters, formats, npy -------------------------------------------------------------
def test_subset_operations() -> None:
    from doi2data.service.subsets import operation

    assert operation({"list": "members"}) == "list-members"
    assert operation({"extract": "a/b.txt"}) == "extract"
    assert operation({"dataset": "/d", "slice": "0:2"}) == "dataset"
    assert operation({"where": "omega > 1", "archive": "zip"}) == "where"
    for bad in ({"slice": "0:1"}, {"list": "all"}, {"extract": "/"}, {"extract": "a", "slice": "1"},
                {"where": "x > 1", "extract": "a"}, {"dataset": "/d", "archive": "zip"}):
        with pytest.raises(UsageError):
            operation(bad)


def test_slice_format_negotiation_and_spec() -> None:
    from doi2data.service.problems import InvalidSlice
    from doi2data.service.slices import dataset_spec, slice_format

    assert slice_format(None, None) == ("npy", True)
    assert slice_format("*/*", None) == ("npy", True)
    assert slice_format("text/html,application/xhtml+xml,*/*;q=0.8", None) == ("npy", True)
    assert slice_format("application/json", None) == ("json", True)
    assert slice_format("application/x-hdf5, application/json;q=0.5", None) == ("hdf5", True)
    assert slice_format("application/octet-stream", None) == ("npy", True)
    assert slice_format("application/json", "h5") == ("hdf5", False)
    with pytest.raises(NotAcceptable):
        slice_format("image/png", None)
    with pytest.raises(UsageError):
        slice_format(None, "tiff")
    assert dataset_spec({"dataset": "/entry/data", "slice": "[1:2, ::3]"}).slices == "1:2, ::3"
    assert dataset_spec({"dataset": "entry/data[4]"}).path == "/entry/data"
    with pytest.raises(InvalidSlice):
        dataset_spec({"dataset": "/d[1]", "slice": "2"})


@pytest.mark.parametrize("dtype", ["<u2", ">f8", "i1", "<c16"])
def test_npy_chunks_round_trip(dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    np = pytest.importorskip("numpy")
    from doi2data.service import slices

    monkeypatch.setattr(slices, "CHUNK", 1000)
    values = np.arange(3 * 5 * 7).reshape(3, 5, 7).astype(dtype)
    length, chunks = slices.npy_chunks(values)
    blob = b"".join(chunks)
    assert len(blob) == length and np.array_equal(np.load(io.BytesIO(blob)), values)
    assert np.load(io.BytesIO(b"".join(slices.npy_chunks(np.zeros((0, 4)))[1]))).shape == (0, 4)
    with pytest.raises(UsageError):
        slices.npy_chunks(np.array(["a", None], dtype=object))


# -- the producer-thread pump --------------------------------------------------------------------
def test_pump_bounded_ordered_and_errors_follow_items() -> None:
    from doi2data.service.pump import LIVE, ThreadPump

    produced: list[int] = []

    def make() -> Iterator[int]:
        for i in range(100):
            produced.append(i)
            yield i
        raise UsageError("after the items")

    async def go() -> None:
        pump: ThreadPump[int] = ThreadPump(make, depth=4)
        await asyncio.sleep(0.2)
        assert len(produced) <= 5  # bounded: four queued, one waiting for room
        got = []
        with pytest.raises(UsageError):
            async for item in pump:
                got.append(item)
        assert got == list(range(100))
        await pump.aclose()

    asyncio.run(go())
    assert not LIVE


def test_pump_aclose_stops_the_producer_and_runs_its_cleanup() -> None:
    from doi2data.service.pump import LIVE, ThreadPump

    closed = []

    def make() -> Iterator[bytes]:
        try:
            while True:
                yield b"x" * 1000
        finally:
            closed.append(True)

    async def go() -> None:
        pump: ThreadPump[bytes] = ThreadPump(make, depth=2)
        assert await pump.__anext__() == b"x" * 1000
        await pump.aclose()
        assert closed == [True]
        with pytest.raises(StopAsyncIteration):
            await pump.__anext__()

    asyncio.run(go())
    assert not LIVE


# -- `doi2data serve` flags -> GatewayConfig (no server: uvicorn.run is replaced) -----------------
@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, dict[str, object]]]:
    """What ``doi2data serve`` would hand uvicorn; the app is the config itself (``create_app`` stubbed)."""
    import uvicorn

    from doi2data.service import app as app_mod
    from doi2data.service.config import ENV_VAR

    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.setattr(app_mod, "create_app", lambda config: config)
    monkeypatch.setenv(ENV_VAR, "")  # restored after the test: --workers N sets it
    return calls


def test_serve_subset_flags_reach_the_config(served: list[tuple[object, dict[str, object]]]) -> None:
    from doi2data.cli import main
    from doi2data.service import GatewayConfig

    main(["serve", "--cache", "memory:"])
    defaults = served[-1][0]
    assert isinstance(defaults, GatewayConfig)
    assert (defaults.origin_rates, defaults.max_slice_bytes, defaults.max_frame_files, defaults.subset_workers) == (
        (), GatewayConfig.max_slice_bytes, GatewayConfig.max_frame_files, GatewayConfig.subset_workers)
    main(["serve", "--cache", "memory:", "--origin-rate", "zenodo.org=0", "--origin-rate", "data.example=30/60",
          "--max-slice-size", "1MiB", "--max-frame-files", "7", "--subset-workers", "3"])
    config = served[-1][0]
    assert isinstance(config, GatewayConfig)
    assert config.origin_rates == ("zenodo.org=0", "data.example=30/60")
    assert (config.max_slice_bytes, config.max_frame_files, config.subset_workers) == (1 << 20, 7, 3)


def test_serve_read_bound_flags_reach_the_config(served: list[tuple[object, dict[str, object]]]) -> None:
    from doi2data.cli import main
    from doi2data.service import GatewayConfig

    main(["serve", "--cache", "memory:"])
    defaults = served[-1][0]
    assert isinstance(defaults, GatewayConfig)
    assert (defaults.max_slice_read, defaults.max_slice_chunks, defaults.max_slice_chunk_bytes,
            defaults.max_inflate_ratio, defaults.max_list_members) == (
        GatewayConfig.max_slice_read, GatewayConfig.max_slice_chunks, GatewayConfig.max_slice_chunk_bytes,
        GatewayConfig.max_inflate_ratio, GatewayConfig.max_list_members)
    main(["serve", "--cache", "memory:", "--max-slice-read", "8MiB", "--max-slice-chunks", "9",
          "--max-slice-chunk-size", "1MiB", "--max-inflate-ratio", "50", "--max-list-members", "10",
          "--max-api-body", "2MiB"])
    config = served[-1][0]
    assert isinstance(config, GatewayConfig)
    assert (config.max_slice_read, config.max_slice_chunks, config.max_slice_chunk_bytes, config.max_inflate_ratio,
            config.max_list_members, config.max_api_body) == (8 << 20, 9, 1 << 20, 50.0, 10, 2 << 20)


def test_serve_subset_flags_travel_to_worker_processes(served: list[tuple[object, dict[str, object]]]) -> None:
    import os

    from doi2data.cli import main
    from doi2data.service.config import ENV_VAR, GatewayConfig

    main(["serve", "--cache", "memory:", "--workers", "2", "--origin-rate", "zenodo.org=100/60",
          "--max-slice-size", "64MB", "--max-frame-files", "12", "--subset-workers", "2"])
    assert served[-1][0] == "doi2data.service.app:app_from_env" and served[-1][1]["workers"] == 2
    config = GatewayConfig.from_env({ENV_VAR: os.environ[ENV_VAR]})
    assert config.origin_rates == ("zenodo.org=100/60",)
    assert (config.max_slice_bytes, config.max_frame_files, config.subset_workers) == (64_000_000, 12, 2)


@pytest.mark.parametrize("args, words", [
    (["--origin-rate", "zenodo.org"], "--origin-rate 'zenodo.org'"),
    (["--origin-rate", "zenodo.org=ten/60"], "--origin-rate"),
    (["--origin-rate", "zenodo.org=-1/60"], "positive"),
    (["--max-slice-size", "12parsecs"], "bad size"),
    (["--max-frame-files", "0"], "--max-frame-files"),
    (["--subset-workers", "0"], "--subset-workers"),
    (["--max-slice-read", "lots"], "bad size"),
    (["--max-inflate-ratio", "0"], "--max-inflate-ratio"),
])
def test_serve_refuses_bad_subset_flags(served: list[tuple[object, dict[str, object]]],
                                        capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    from doi2data.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--cache", "memory:", *args])
    assert exit_info.value.code == UsageError.exit_code and not served  # before listening
    assert words in capsys.readouterr().err


def test_subset_readers_share_the_process_politeness() -> None:
    """Every reader the gateway makes draws on one set of per-host buckets, with origin_rates applied."""
    from doi2data.service.config import GatewayConfig
    from doi2data.service.subsetstate import SubsetState
    from doi2data.transfer.limits import DEFAULT_RATES, Window

    state = SubsetState(GatewayConfig(origin_rates=("zenodo.org=0", "slow.example=2/60"), subset_workers=2))
    try:
        with httpx.Client(trust_env=False) as client:
            one, two = state.reader(client), state.reader(client)
            assert one.client is client and one.gates is two.gates is state.gates
            assert not one.credentials  # no tokens, whatever DOI2DATA_TOKENS says
            assert one.rates["slow.example"] == (Window(2, 60.0),) and one._gate("zenodo.org").unlimited
            assert set(DEFAULT_RATES) <= set(one.rates)
            for _ in range(2):
                one._gate("slow.example").take()
            assert max(b.wait_time() for b in two._gate("slow.example").buckets) > 0
            assert state.executor._max_workers == 2  # type: ignore[attr-defined]
    finally:
        state.close()
