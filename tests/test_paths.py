"""Path safety: nothing a server names may land outside the destination."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doi2data.errors import UnsafePath
from doi2data.paths import inside, plan_paths, safe_relpath


@pytest.mark.parametrize(
    "name,local",
    [
        ("a.txt", "a.txt"), ("data/a b.txt", "data/a b.txt"), ("données/été.csv", "données/été.csv"),
        ("/abs/p.txt", "abs/p.txt"), ("C:\\win\\x.txt", "win/x.txt"), ("a//./b", "a/b"), ("./x", "x"),
    ],
)
def test_safe_relpath(name: str, local: str) -> None:
    assert safe_relpath(name)[0] == local


@pytest.mark.parametrize("name", ["../x", "a/../../x", "..", "", "/", "a\x00b", "a\nb", "C:..\\x", "x/" + "y" * 300])
def test_refused(name: str) -> None:
    with pytest.raises(UnsafePath):
        safe_relpath(name)


def test_clashes_are_renamed_and_reported() -> None:
    plans, messages = plan_paths(["dup.txt", "Dup.txt", "dup.txt", "a", "a/b", "../evil"])
    locals_ = [p.local if p else None for p in plans]
    assert locals_[0] == "dup.txt"
    assert len({x.casefold() for x in locals_ if x}) == 5  # all distinct case-insensitively
    assert locals_[5] is None
    assert any("evil" in m for m in messages) and any("Dup.txt" in m for m in messages)


def test_inside_refuses_symlink_escape(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        inside(dest, "link/escape.txt")
    assert inside(dest, "ok/file.txt") == (dest / "ok/file.txt").resolve()


@given(st.lists(st.text(min_size=0, max_size=30), max_size=20))
def test_property_plans_stay_inside_and_distinct(names: list[str]) -> None:
    plans, _ = plan_paths(names)
    seen: set[str] = set()
    for plan in plans:
        if plan is None:
            continue
        parts = plan.local.split("/")
        assert all(p not in ("", ".", "..") for p in parts)
        assert not plan.local.startswith("/") and "\\" not in plan.local and "\x00" not in plan.local
        assert plan.local.casefold() not in seen
        seen.add(plan.local.casefold())
    # no planned file is the parent directory of another planned file
    for a in seen:
        assert not any(b.startswith(a + "/") for b in seen)


@given(st.text(st.sampled_from("aZ09_.+-~/:\\ é\x00doi2DATA"), max_size=30))
@settings(max_examples=2000, deadline=None)
def test_the_fast_path_for_plain_names_agrees_with_the_general_rules(name: str) -> None:
    """safe_relpath keeps a plain name without the general walk; with that shortcut switched off
    every name gives the same path, reason or refusal."""
    import re

    from doi2data import paths

    def outcome() -> object:
        try:
            return paths.safe_relpath(name)
        except UnsafePath as exc:
            return str(exc)

    fast = outcome()
    shortcut, paths._SIMPLE_RE = paths._SIMPLE_RE, re.compile(r"(?!)")  # matches nothing
    try:
        assert outcome() == fast
    finally:
        paths._SIMPLE_RE = shortcut
