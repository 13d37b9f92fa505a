"""Choose files from a manifest: rsync-like globs, regular expressions and size bounds.

Rules (documented in the README, the same for the CLI, the Python API, the gateway and for
members inside archives):

* A pattern without ``/`` matches the file name at any depth: ``*.json`` matches
  ``a.json`` and ``x/y/a.json``.
* A pattern with ``/`` matches the whole relative path from the dataset root; a leading ``/``
  is allowed and means the same. ``*`` and ``?`` never cross ``/``; ``**`` does.
* A pattern that names a directory also selects everything below it (``tmp`` and ``tmp/``
  both select ``tmp/x.json``; a trailing ``/`` matches directories only).
* ``[abc]`` character classes work as in shell globs. Matching is case-sensitive.
* A file is kept when it matches at least one ``include`` (or no includes were given) and no
  ``exclude``: excludes win.

Combining filters (``--include``, ``--regex``, ``--min-size``, ``--max-size``, ``--exclude``):
every *kind* of filter given must agree - they are ANDed; repeats of one kind are ORed. So a file
is kept when

    (no --include, or it matches one)  and  (no --regex, or one matches)
    and  (size >= --min-size)  and  (size <= --max-size)  and  it matches no --exclude.

* ``--regex`` is a regular expression searched in the whole relative path, case-sensitively:
  anchor it yourself (``'^images/.*_000[1-9]\\.cbf$'``). It runs on RE2 (linear time), so
  lookarounds and backreferences are refused.
* Sizes accept units (``500kB``, ``8MiB``, ``2GB``); both bounds are inclusive. A file whose size
  the repository does not give fails any size bound (a bound is a promise about bytes).

Why our own glob matcher: patterns and paths both come from strangers (gateway queries,
repository manifests), and a glob turned into a backtracking regex costs O(n^k) for k stars
(``**************************Z`` took 27 s). Globs are parsed to tokens, runs of stars are
collapsed (same language), and a pattern is handed to Python's ``re`` only when it has at most
one unbounded wildcard (one star after an any-depth prefix), where backtracking is linear; every
other pattern runs on a bit-parallel automaton whose cost is linear in the path (one step per
character, transitions memoised per state).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import UsageError
from .model import FileEntry, Manifest

#: One pattern (glob or regex) and how many a filter takes: the cost of a selection grows with both.
MAX_PATTERN_LENGTH = 1024
MAX_PATTERNS = 64

_STAR, _ANY, _GSLASH = "star", "any", "gslash"  # [^/]*   .*   (?:.*/)?
_WILD = (_STAR, _ANY, _GSLASH)
Token = tuple[str, Any]  # ("lit", ch) | ("one", None) | ("cls", (source, compiled)) | (wildcard, None)
_MAX_CACHED = 2048  # memoised transitions per pattern (then computed each time): 256 patterns stay < ~50 MB


def _parse(pattern: str) -> tuple[list[Token], bool, bool]:
    """Tokens of the pattern body, whether it is anchored at the root, whether it names a directory."""
    if not pattern or pattern.strip() != pattern:
        raise UsageError(f"invalid pattern {pattern!r}: empty or surrounded by spaces")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UsageError(f"invalid pattern {pattern[:40]!r}...: longer than {MAX_PATTERN_LENGTH} characters")
    body = pattern.lstrip("/")
    anchored = "/" in pattern.rstrip("/")
    directory = body.endswith("/")
    body = body.rstrip("/")
    out: list[Token] = []
    i = 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out.append((_GSLASH, None))
            i += 3
        elif body.startswith("**", i):
            out.append((_ANY, None))
            i += 2
        elif c == "*":
            out.append((_STAR, None))
            i += 1
        elif c == "?":
            out.append(("one", None))
            i += 1
        elif c == "[":
            end = body.find("]", i + 2 if body[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                raise UsageError(f"invalid pattern {pattern!r}: unclosed '['")
            cls = body[i + 1 : end]
            cls = "^" + cls[1:] if cls.startswith("!") else cls
            if cls == "^":  # "[!]" or "[^]": as a regex it swallowed the tokens after it
                raise UsageError(f"invalid pattern {pattern!r}: empty character class")
            source = f"[{cls.replace(chr(92), chr(92) * 2)}]"
            try:
                with warnings.catch_warnings():  # "possible nested set" and friends: the class means what it did
                    warnings.simplefilter("ignore", FutureWarning)
                    out.append(("cls", (source, re.compile(source, re.DOTALL))))
            except re.error as exc:
                raise UsageError(f"invalid pattern {pattern!r}: {exc}") from exc
            i = end + 1
        else:
            out.append(("lit", c))
            i += 1
    return out, anchored, directory


def _collapse(tokens: list[Token]) -> list[Token]:
    """Merge adjacent wildcards into one that matches the same strings (``.*[^/]*`` is ``.*``...)."""
    out: list[Token] = []
    for tok in tokens:
        if out and tok[0] in _WILD and out[-1][0] in _WILD:
            prev = out[-1][0]
            if _ANY in (prev, tok[0]):
                out[-1] = (_ANY, None)
                continue
            if prev == tok[0]:
                continue
        out.append(tok)
    return out


def _regex(tokens: list[Token], directory: bool) -> str:
    parts = {"lit": None, "one": "[^/]", _STAR: "[^/]*", _ANY: ".*", _GSLASH: "(?:.*/)?"}
    core = "".join(re.escape(arg) if kind == "lit" else arg[0] if kind == "cls" else str(parts[kind])
                   for kind, arg in tokens)
    return f"^{core}{'/.*' if directory else '(?:/.*)?'}$"


def _linear_for_re(tokens: list[Token]) -> bool:
    """True when Python's backtracking ``re`` is linear on this token list (see the module docstring).

    One unbounded wildcard: each of its O(n) end positions is tried once against a fixed tail.
    An any-depth prefix plus one star: the prefix only stops after a ``/`` and the star cannot
    pass one, so together they still visit each character O(1) times per pattern position.
    """
    wild = [kind for kind, _ in tokens if kind in _WILD]
    if len(wild) <= 1:
        return True
    slash_class = any(kind == "cls" and arg[1].match("/") for kind, arg in tokens)
    return (len(wild) == 2 and tokens[0][0] == _GSLASH and wild[1] == _STAR and not slash_class)


class _Automaton:
    """A bit-parallel NFA over the tokens: one bit per position, one transition per character.

    Bits: a literal, ``?`` or class moves its bit up on a matching character; ``[^/]*`` and
    ``.*`` keep theirs (and reach the next by an empty move); ``(?:.*/)?`` takes two bits - "just
    after a ``/`` (or entered)", which may move on to the next token, and "inside a name". The
    last bit means the pattern matched; from there a ``/`` accepts the rest (the directory rule).
    """

    def __init__(self, tokens: list[Token], directory: bool) -> None:
        self.directory = directory
        self.literal: dict[str, int] = {}
        self.classes: list[tuple[re.Pattern[str], int]] = []
        stay = {True: 0, False: 0}  # keyed by "the character is a /"
        up = {True: 0, False: 0}
        down = 0  # only on "/"
        self.skip1 = self.skip2 = 0
        bit = 0
        for kind, arg in tokens:
            b = 1 << bit
            bit += 1
            if kind == "lit":
                self.literal[arg] = self.literal.get(arg, 0) | b
            elif kind == "one":
                up[False] |= b
            elif kind == "cls":
                self.classes.append((arg[1], b))
            elif kind == _STAR:
                stay[False] |= b
                self.skip1 |= b
            elif kind == _ANY:
                stay[False] |= b
                stay[True] |= b
                self.skip1 |= b
            else:  # _GSLASH: b = "after a / (or just entered)", b << 1 = "inside a name"
                stay[True] |= b
                up[False] |= b
                stay[False] |= b << 1
                down |= b << 1
                self.skip2 |= b
                bit += 1
        self.final = 1 << bit
        self.stay, self.up, self.down = stay, up, down
        self.start = self._close(1)
        self.rows: dict[int, dict[str, int]] = {}
        self.cached = 0

    def _close(self, d: int) -> int:
        while True:
            e = d | ((d & self.skip1) << 1) | ((d & self.skip2) << 2)
            if e == d:
                return d
            d = e

    def _step(self, d: int, c: str) -> int:
        slash = c == "/"
        up = self.up[slash] | self.literal.get(c, 0)
        for cls, b in self.classes:
            if d & b and cls.match(c):
                up |= b
        moved = (d & self.stay[slash]) | ((d & up) << 1) | (((d & self.down) >> 1) if slash else 0)
        return self._close(moved)

    def _run(self, text: str, d: int) -> int:
        """The state after ``text`` from ``d``: 0 when nothing can match, -1 when matched already."""
        final, rows = self.final, self.rows
        for c in text:
            if c == "/" and d & final:
                return -1  # the pattern matched a directory: everything below it is selected
            row = rows.get(d)
            nxt = row.get(c) if row is not None else None
            if nxt is None:
                nxt = self._step(d, c)
                if self.cached < _MAX_CACHED:  # races between threads only repeat work
                    rows.setdefault(d, {})[c] = nxt
                    self.cached += 1
            if not nxt:
                return 0
            d = nxt
        return d

    def match(self, path: str) -> bool:
        newline = path.endswith("\n")  # like re's "$", a match may also end before a final newline
        d = self._run(path[:-1] if newline else path, self.start)
        if d <= 0:
            return d < 0
        if newline:
            if not self.directory and d & self.final:
                return True
            d = self._run("\n", d)
            if d <= 0:
                return d < 0
        return not self.directory and bool(d & self.final)


class Glob:
    """One compiled pattern: ``match(path)`` in time linear in the path, whatever the pattern."""

    __slots__ = ("automaton", "match", "pattern", "regex")

    def __init__(self, pattern: str, regex: re.Pattern[str] | None, automaton: _Automaton | None) -> None:
        self.pattern, self.regex, self.automaton = pattern, regex, automaton
        self.match: Callable[[str], bool]
        if regex is not None:
            self.match = lambda path, m=regex.match: m(path) is not None  # type: ignore[misc]
        else:
            assert automaton is not None
            self.match = automaton.match


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    """Compile one rsync-like pattern (see the module docstring for the rules and the engine)."""
    tokens, anchored, directory = _parse(pattern)
    tokens = _collapse(([] if anchored else [(_GSLASH, None)]) + tokens)
    if _linear_for_re(tokens):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return Glob(pattern, re.compile(_regex(tokens, directory), re.DOTALL), None)
    return Glob(pattern, None, _Automaton(tokens, directory))


def matches(path: str, pattern: str) -> bool:
    return _compiled(pattern)(path)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Callable[[str], bool]:
    return compile_glob(pattern).match


class Regex:
    """A ``--regex`` on RE2: ``search(path)`` in linear time (Python's ``re`` can take exponential time)."""

    def __init__(self, pattern: str) -> None:
        import re2

        options = re2.Options()
        options.log_errors = False
        options.max_mem = 8 << 20  # the compiled program and its DFA cache
        self.pattern = pattern
        try:
            self._re = re2.compile(pattern, options)
        except re2.error as exc:
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise UsageError(f"invalid regex {pattern!r}: {detail} (regexes run on RE2, linear time: no "
                             f"lookarounds or backreferences; \\z, not \\Z)") from None

    def search(self, path: str) -> bool:
        try:
            return self._re.search(path) is not None
        except UnicodeEncodeError:  # a lone surrogate (RE2 reads UTF-8): compare it as U+FFFD
            return self._re.search(path.encode("utf-8", "surrogatepass").decode("utf-8", "replace")) is not None


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> Regex:
    """Compile a ``--regex`` (searched in the relative path); bad syntax is a UsageError."""
    if not pattern:
        raise UsageError("invalid regex: empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UsageError(f"invalid regex {pattern[:40]!r}...: longer than {MAX_PATTERN_LENGTH} characters")
    return Regex(pattern)


def _size(value: int | str | None, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        from .sizes import parse_size

        value = parse_size(value)
    if value < 0:
        raise UsageError(f"{what} must not be negative")
    return int(value)


def _as_tuple(v: Iterable[str] | str | None) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(v or ())


@dataclass(frozen=True)
class FileFilter:
    """Globs, regexes and size bounds; build once (:meth:`of` validates), apply to any manifest."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None

    @classmethod
    def of(cls, include: Iterable[str] | str | None = None, exclude: Iterable[str] | str | None = None, *,
           regex: Iterable[str] | str | None = None, min_size: int | str | None = None,
           max_size: int | str | None = None) -> FileFilter:
        built = cls(_as_tuple(include), _as_tuple(exclude), _as_tuple(regex), _size(min_size, "--min-size"),
                    _size(max_size, "--max-size"))
        if (count := len(built.include) + len(built.exclude) + len(built.regex)) > MAX_PATTERNS:
            raise UsageError(f"{count} patterns; a selection takes at most {MAX_PATTERNS} "
                             "(includes, excludes and regexes together)")
        for p in built.include + built.exclude:
            compile_glob(p)  # fail early with a UsageError
        for r in built.regex:
            compile_regex(r)
        if built.min_size is not None and built.max_size is not None and built.min_size > built.max_size:
            raise UsageError(f"--min-size ({built.min_size}) is larger than --max-size ({built.max_size})")
        return built

    def __call__(self, entry: FileEntry) -> bool:
        return self.keeps(entry.path, entry.size)

    def keeps(self, path: str, size: int | None = None) -> bool:
        """The rule for any named thing with an optional size (manifest files, archive members)."""
        if self.include and not any(matches(path, p) for p in self.include):
            return False
        if self.regex and not any(compile_regex(r).search(path) for r in self.regex):
            return False
        if self.min_size is not None or self.max_size is not None:
            if size is None:
                return False
            if self.min_size is not None and size < self.min_size:
                return False
            if self.max_size is not None and size > self.max_size:
                return False
        return not any(matches(path, p) for p in self.exclude)

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude or self.regex) or self.min_size is not None \
            or self.max_size is not None


def select(manifest: Manifest, include: Sequence[str] | str | None = None, exclude: Sequence[str] | str | None = None,
           *, regex: Sequence[str] | str | None = None, min_size: int | str | None = None,
           max_size: int | str | None = None, dataset: str | None = None) -> Manifest:
    """Return the manifest with only the chosen files (see the module docstring for the rules).

    ``dataset``: a ``--dataset`` expression over the datasets inside the DOI (:mod:`doi2data.datasets_select`);
    ``None`` takes the running command's ``--dataset``, if any.
    """
    chooser = FileFilter.of(include, exclude, regex=regex, min_size=min_size, max_size=max_size)
    from .datasets_select import active, select_datasets

    chosen = dataset if dataset is not None else active()
    if chosen:
        manifest = select_datasets(manifest, chosen)
    if not chooser.active:
        return manifest
    return manifest.with_files(f for f in manifest.files if chooser(f))


__all__ = ["MAX_PATTERNS", "MAX_PATTERN_LENGTH", "FileFilter", "Glob", "Regex", "compile_glob", "compile_regex",
           "matches", "select"]
