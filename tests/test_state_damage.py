"""A damaged or locked ``DEST/.doi2data/state.sqlite`` is a one-line error (exit 11), never a
traceback, and ``--rebuild-state`` sets it aside and re-checks the files on disk by hashing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from doi2data.errors import EXIT_CODES, StateDamaged
from doi2data.sandbox import FakeInternet
from doi2data.transfer import state as state_mod
from doi2data.transfer.state import StateStore, set_aside

DOI = "10.5281/zenodo.1215979"


def _healthy(dest: Path, rows: int = 300) -> Path:
    final = dest / "f.bin"
    final.write_bytes(b"x")
    store = StateStore(dest)
    for i in range(rows):
        store.mark_verified(f"file-{i:04d}-" + "p" * 60, final, {"md5": f"{i:032x}"})
    store.close()
    db = dest / ".doi2data" / "state.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


def _damage(db: Path, how: str) -> None:
    raw = db.read_bytes()
    assert len(raw) > 4 * 4096
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)
    db.write_bytes({
        "truncated": raw[: len(raw) // 2],
        "garbage": b"this is not a database\n" * 100,
        "header-only": raw[:100],
        "bad-page": raw[: 2 * 4096] + b"\xa5" * 4096 + raw[3 * 4096:],
    }[how])


@pytest.mark.parametrize("how", ["truncated", "garbage", "header-only", "bad-page"])
def test_damaged_database_is_one_clear_error(tmp_path: Path, how: str) -> None:
    _damage(_healthy(tmp_path), how)
    with pytest.raises(StateDamaged) as caught:
        StateStore(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "damaged" in message and "--rebuild-state" in message
    assert caught.value.exit_code == 11 and 11 in EXIT_CODES


def test_locked_database_says_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _healthy(tmp_path, rows=1)
    monkeypatch.setattr(state_mod, "LOCK_TIMEOUT", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StateDamaged, match="locked by another process"):
            StateStore(tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    StateStore(tmp_path).close()  # free again: usable


def test_unexpected_schema_is_damage_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / ".doi2data").mkdir()
    con = sqlite3.connect(tmp_path / ".doi2data" / "state.sqlite")
    con.execute("CREATE TABLE partial (path TEXT)")  # an older or foreign layout
    con.execute("INSERT INTO partial VALUES ('x')")
    con.commit()
    con.close()
    with pytest.raises(StateDamaged, match="damaged"):
        StateStore(tmp_path)


def test_state_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / ".doi2data").write_bytes(b"oops")
    with pytest.raises(StateDamaged, match="not a folder"):
        StateStore(tmp_path)


def test_set_aside_keeps_the_damaged_copy_and_drops_parts(tmp_path: Path) -> None:
    db = _healthy(tmp_path)
    _damage(db, "garbage")
    (tmp_path / ".doi2data" / "parts" / "abc.part").write_bytes(b"half")
    moved = set_aside(tmp_path)
    assert moved is not None and moved.read_bytes().startswith(b"this is not a database")
    assert not db.exists() and list((tmp_path / ".doi2data" / "parts").iterdir()) == []
    StateStore(tmp_path).close()
    assert set_aside(tmp_path / "nowhere") is None


def _content_gets(net: FakeInternet) -> list[str]:
    return [r.path for r in net.log if r.host == "zenodo.org" and "/files/" in r.path and r.method == "GET"]


def test_cli_verify_and_get_on_a_damaged_state_then_rebuild(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("get", DOI, "d", "-q").code == 0
    db = tmp_path / "d" / ".doi2data" / "state.sqlite"
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)
    db.write_bytes(b"\x00garbage" * 512)

    for args in (("verify", DOI, "d"), ("get", DOI, "d", "-q"), ("get", DOI, "d", "--json")):
        run = cli(*args)
        assert run.code == 11, (args, run.err)
        assert "Traceback" not in run.err and "--rebuild-state" in run.err
        assert len([line for line in run.err.splitlines() if "error" in line]) == 1

    run = cli("verify", DOI, "d", "--rebuild-state")
    assert run.code == 0, run.err
    assert "moved to" in run.err and list((tmp_path / "d" / ".doi2data").glob("state.sqlite.damaged-*"))
    net.clear_log()
    run = cli("get", DOI, "d", "--json")  # verify recorded every file again: nothing moves
    assert run.code == 0, run.err
    summary = json.loads(run.out.splitlines()[-1])
    assert summary["bytes"] == 0 and summary["downloaded"] == 0 and _content_gets(net) == []


def test_cli_get_rebuild_state_rehashes_instead_of_downloading(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("get", DOI, "g", "-q").code == 0
    (tmp_path / "g" / ".doi2data" / "state.sqlite").write_bytes(b"garbage" * 1000)
    net.clear_log()
    run = cli("get", DOI, "g", "--rebuild-state", "--json")
    assert run.code == 0, run.err
    summary = json.loads(run.out.splitlines()[-1])
    assert summary["bytes"] == 0 and summary["present"] > 0 and _content_gets(net) == []


def test_cli_verify_on_a_locked_state_exits_11(net: FakeInternet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import doi2data
    from doi2data.cli import main

    dest = tmp_path / "l"
    doi2data.download(DOI, dest, include="README.json")
    monkeypatch.setattr(state_mod, "LOCK_TIMEOUT", 0.2)
    holder = sqlite3.connect(dest / ".doi2data" / "state.sqlite", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SystemExit) as exited:
            main(["verify", DOI, str(dest), "--include", "README.json"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert exited.value.code == 11 and "locked by another process" in err and "Traceback" not in err
