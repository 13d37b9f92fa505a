"""``--where``: a tiny, safe expression language over frame datanames (never ``eval``).

Why a grammar of our own: the expression comes from a command line or a URL (``?where=``), so it
must not reach Python's ``eval`` or SQL text. It is tokenised and parsed here into a tree of
closures that can only compare values::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := "(" expr ")" | operand (op operand)*          -- chains: 90 <= omega < 120
             | operand ["not"] "in" "(" literal ("," literal)* ")"
             | operand "like" STRING                           -- shell glob, for strings
    op      := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
    operand := "-"* (NAME | NUMBER | STRING)

Semantics: names are datanames (``omega``, ``chi``, ``file``, ``frame``...; unknown names are an
error listing the known ones). Numbers compare as floats, ``==``/``!=`` with an absolute
tolerance of 1e-6 (headers print ``90.0000``). A comparison with a missing value is false (so
``not`` of it is true). Keywords are case-insensitive. At most 2,000 characters and 64 levels.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
MAX_LENGTH, MAX_DEPTH, TOLERANCE = 2000, 64, 1e-6
_TOKEN = re.compile(r"""\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
    |(?P<str>'[^']*'|"[^"]*")|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op><=|>=|==|!=|=|<|>|\(|\)|,|-))""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "like"}
_OPS = {"==", "=", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, name, kw, op, end
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise UsageError(f"--where is longer than {MAX_LENGTH} characters")
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise UsageError(f"--where: unexpected {text[pos:].strip()[:10]!r} at character {pos + 1}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        start = match.start(kind)
        if kind == "num":
            tokens.append(Token("num", float(raw), start))
        elif kind == "str":
            tokens.append(Token("str", raw[1:-1], start))
        elif kind == "name" and raw.lower() in _KEYWORDS:
            tokens.append(Token("kw", raw.lower(), start))
        else:
            tokens.append(Token(kind, raw, start))
        pos = match.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, names: Collection[str] | None) -> None:
        self.tokens, self.i, self.names = tokenize(text), 0, names
        self.used: set[str] = set()
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, what: str) -> UsageError:
        shown = "end of expression" if self.tok.kind == "end" else repr(str(self.tok.value))
        return UsageError(f"--where: expected {what}, found {shown} at character {self.tok.pos + 1}")

    def eat(self, kind: str, value: Any = None) -> bool:
        if self.tok.kind == kind and (value is None or self.tok.value == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str) -> None:
        if not self.eat(kind, value):
            raise self.fail(repr(value))

    def parse(self) -> Predicate:
        pred = self.or_()
        if self.tok.kind != "end":
            raise self.fail("'and', 'or' or the end")
        return pred

    def or_(self) -> Predicate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise UsageError("--where nests too deeply")
        parts = [self.and_()]
        while self.eat("kw", "or"):
            parts.append(self.and_())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.eat("kw", "and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def not_(self) -> Predicate:
        if self.eat("kw", "not"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise UsageError("--where nests too deeply")
            inner = self.not_()
            self.depth -= 1
            return lambda row: not inner(row)
        return self.compare()

    def operand(self) -> Callable[[Row], Any]:
        minus = 0
        while self.eat("op", "-"):  # counted, not recursed: "- - - ... x" must not exhaust the stack
            minus += 1
        inner = self._term()
        if not minus:
            return inner
        twice = minus % 2 == 0  # -(-v): an int again for a bool, as negating twice always gave
        return lambda row: (-(-v) if twice else -v) if isinstance(v := inner(row), (int, float)) else None

    def _term(self) -> Callable[[Row], Any]:
        tok = self.tok
        if self.eat("num") or self.eat("str"):
            value = tok.value
            return lambda row: value
        if self.eat("name"):
            name = tok.value
            if self.names is not None and name not in self.names:
                raise UsageError(f"--where: unknown name {name!r}; known: {', '.join(sorted(self.names))}")
            self.used.add(name)
            return lambda row: row.get(name)
        raise self.fail("a name, a number or a quoted string")

    def compare(self) -> Predicate:
        if self.eat("op", "("):
            inner = self.or_()
            self.expect("op", ")")
            return inner
        left = self.operand()
        negate = self.eat("kw", "not")
        if self.eat("kw", "in"):
            self.expect("op", "(")
            values = [self.literal()]
            while self.eat("op", ","):
                values.append(self.literal())
            self.expect("op", ")")
            member: Predicate = lambda row: any(_equal(left(row), v) for v in values)  # noqa: E731
            return (lambda row: left(row) is not None and not member(row)) if negate else member
        if negate:
            raise self.fail("'in' after 'not'")
        if self.eat("kw", "like"):
            if self.tok.kind != "str":
                raise self.fail("a quoted glob after 'like'")
            pattern = self.tok.value
            self.i += 1
            return lambda row: isinstance(v := left(row), str) and fnmatch.fnmatchcase(v, pattern)
        if self.tok.kind != "op" or self.tok.value not in _OPS:
            raise self.fail("a comparison (==, !=, <, <=, >, >=, in, like)")
        pairs: list[tuple[str, Callable[[Row], Any], Callable[[Row], Any]]] = []
        while self.tok.kind == "op" and self.tok.value in _OPS:
            op = self.tok.value
            self.i += 1
            right = self.operand()
            pairs.append((op, left, right))
            left = right
        return lambda row: all(_compare(op, a(row), b(row)) for op, a, b in pairs)

    def literal(self) -> Any:
        sign = -1.0 if self.eat("op", "-") else 1.0
        tok = self.tok
        if tok.kind == "num" or (tok.kind == "str" and sign > 0):
            self.i += 1
            return tok.value * sign if tok.kind == "num" else tok.value
        raise self.fail("a number or a quoted string")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _equal(a: Any, b: Any) -> bool:
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=0.0, abs_tol=TOLERANCE)
    return a is not None and b is not None and str(a) == str(b) and not (x is None) ^ (y is None)


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if op in ("==", "="):
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        a, b = x, y
    elif isinstance(a, str) and isinstance(b, str):
        pass
    else:
        return False
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


@dataclass(frozen=True)
class Where:
    """A parsed ``--where``: call it on a row (a mapping of dataname -> value)."""

    text: str
    predicate: Predicate
    names: frozenset[str]

    def __call__(self, row: Row) -> bool:
        return self.predicate(row)


def parse_where(text: str, names: Collection[str] | None = None) -> Where:
    """Parse ``text``; with ``names``, unknown datanames are refused (typos fail loudly)."""
    if not text or not text.strip():
        raise UsageError("--where is empty")
    parser = _Parser(text, names)
    predicate = parser.parse()
    return Where(text, predicate, frozenset(parser.used))


__all__ = ["Where", "parse_where", "tokenize"]
