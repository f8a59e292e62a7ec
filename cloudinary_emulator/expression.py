"""The Search expression subset: `field:value` terms, comparisons, AND/OR/NOT, parentheses.

AND binds tighter than OR, and adjacent terms are ANDed, as in Lucene-style queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import is_date_only, parse_time

Predicate = Callable[[Asset], bool]

_TOKEN = re.compile(
    r'\s*(\(|\)|(?:[^\s()"\[\]{}]|"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\})+)'
)
_TERM = re.compile(r"^([A-Za-z_][\w.]*)(>=|<=|!=|>|<|:|=)(.*)$", re.DOTALL)
_RANGE = re.compile(r"^([\[{])\s*(.+?)\s+TO\s+(.+?)\s*([\]}])$", re.DOTALL)
_RELATIVE = re.compile(r"^\d+[smhdw]$")
_AND, _OR, _NOT = (
    frozenset({"AND", "&&"}),
    frozenset({"OR", "||"}),
    frozenset({"NOT", "!"}),
)

_STRINGS: dict[str, Callable[[Asset], str]] = {
    "public_id": lambda a: a.public_id,
    "resource_type": lambda a: a.resource_type,
    "type": lambda a: a.type,
    "asset_id": lambda a: a.asset_id,
    "format": lambda a: a.format,
    "display_name": lambda a: a.display_name,
    "filename": lambda a: a.public_id.rpartition("/")[2],
    "original_filename": lambda a: a.original_filename,
}
_DATES: dict[str, Callable[[Asset], float]] = {
    "created_at": lambda a: a.created_at,
    "uploaded_at": lambda a: a.uploaded_at,
    "updated_at": lambda a: a.updated_at,
    "last_updated": lambda a: a.updated_at,
}
_NUMBERS: dict[str, Callable[[Asset], float]] = {
    "bytes": lambda a: a.bytes,
    "width": lambda a: a.width or 0,
    "height": lambda a: a.height or 0,
    "version": lambda a: a.version,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda x, y: x > y,
    "<": lambda x, y: x < y,
    ">=": lambda x, y: x >= y,
    "<=": lambda x, y: x <= y,
    "=": lambda x, y: x == y,
    ":": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
}


def invalid(reason: str) -> ApiError:
    return ApiError(400, f"Invalid search expression: {reason}")


def parse(expression: str, now: float) -> tuple[Predicate | None, bool]:
    """(predicate or None for "everything", whether it depends on the current time)."""
    tokens = _tokenize(expression)
    if not tokens:
        return None, False
    parser = _Parser(tokens, now)
    predicate = parser.parse_or()
    if parser.position != len(tokens):
        raise invalid(f"unexpected {tokens[parser.position]!r}")
    return predicate, parser.uses_now


def _tokenize(expression: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise invalid(f"cannot read from {text[position : position + 20]!r}")
        token = match.group(1)
        if token.startswith("-") and len(token) > 1:
            tokens.extend(["NOT", token[1:]])  # `-tags:x` is shorthand for NOT
        else:
            tokens.append(token)
        position = match.end()
    return tokens


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _text_matcher(pattern: str) -> Callable[[str], bool]:
    if "*" not in pattern:
        return lambda value: value == pattern
    regex = re.compile(
        ".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL
    )
    return lambda value: regex.fullmatch(value) is not None


def _folder_matcher(pattern: str) -> Callable[[str], bool]:
    if pattern.endswith("/*"):  # the folder itself and everything below it
        base = pattern[:-2].strip("/")
        return lambda value: value == base or value.startswith(base + "/")
    return _text_matcher(pattern.strip("/"))


class _Parser:
    def __init__(self, tokens: list[str], now: float) -> None:
        self.tokens = tokens
        self.position = 0
        self.now = now
        self.uses_now = False

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise invalid("unexpected end of expression")
        self.position += 1
        return token

    def parse_or(self) -> Predicate:
        terms = [self._parse_and()]
        while self._peek() in _OR:
            self._next()
            terms.append(self._parse_and())
        return terms[0] if len(terms) == 1 else (lambda a: any(t(a) for t in terms))

    def _parse_and(self) -> Predicate:
        terms = [self._parse_not()]
        while (word := self._peek()) is not None and word != ")" and word not in _OR:
            if word in _AND:
                self._next()
            terms.append(self._parse_not())
        return terms[0] if len(terms) == 1 else (lambda a: all(t(a) for t in terms))

    def _parse_not(self) -> Predicate:
        if self._peek() in _NOT:
            self._next()
            inner = self._parse_not()
            return lambda a: not inner(a)
        return self._parse_primary()

    def _parse_primary(self) -> Predicate:
        word = self._next()
        if word == "(":
            inner = self.parse_or()
            if self._next() != ")":
                raise invalid("missing )")
            return inner
        if word == ")" or word in _AND or word in _OR:
            raise invalid(f"unexpected {word!r}")
        return self._term(word)

    def _term(self, token: str) -> Predicate:
        match = _TERM.match(token)
        if not match:
            return self._bare(_unquote(token))
        field, op, raw = match.group(1), match.group(2), match.group(3)
        if field == "tag":
            field = "tags"
        if field in _DATES or field in _NUMBERS:
            return self._ordered(field, op, raw)
        value = _unquote(raw)
        if field in _STRINGS:
            return _apply(op, _STRINGS[field], value)
        if field in ("folder", "asset_folder"):
            folder = _folder_matcher(value)
            return _negate_if(op, lambda a: folder(a.asset_folder))
        if field == "tags":
            tag = _text_matcher(value)
            return _negate_if(op, lambda a: any(tag(t) for t in a.tags))
        facet, _, key = field.partition(".")
        if facet in ("context", "metadata") and key:
            wanted = _text_matcher(value)

            def lookup(a: Asset) -> bool:
                values = a.context if facet == "context" else a.metadata
                # Metadata values may be ints, or lists (set fields): match any item.
                held = values.get(key)
                items = held if isinstance(held, list) else [held]
                return key in values and any(wanted(str(i)) for i in items)

            return _negate_if(op, lookup)
        raise invalid(f"unsupported field {field!r}")

    def _bare(self, word: str) -> Predicate:
        if word == "*":
            return lambda a: True
        needle = word.lower()
        return lambda a: (
            needle in a.public_id.lower()
            or needle in a.display_name.lower()
            or any(needle == t.lower() for t in a.tags)
        )

    def _ordered(self, field: str, op: str, raw: str) -> Predicate:
        getter = _DATES.get(field) or _NUMBERS[field]
        is_date = field in _DATES
        span = _RANGE.match(raw)
        if span and op in (":", "="):
            low, high = (
                self._number(span.group(2), is_date),
                self._number(span.group(3), is_date),
            )
            low_ok = _COMPARE[">=" if span.group(1) == "[" else ">"]
            high_ok = _COMPARE["<=" if span.group(4) == "]" else "<"]
            return lambda a: low_ok(getter(a), low) and high_ok(getter(a), high)
        bound = self._number(raw, is_date)
        if is_date and op in (":", "="):
            if is_date_only(raw):
                return lambda a: bound <= getter(a) < bound + 86400
            if _RELATIVE.match(_unquote(raw)):
                return lambda a: getter(a) >= bound  # "within the last N units"
            return lambda a: int(getter(a)) == int(bound)
        compare = _COMPARE[op]
        return lambda a: compare(getter(a), bound)

    def _number(self, raw: str, is_date: bool) -> float:
        text = _unquote(raw.strip())
        if is_date:
            if _RELATIVE.match(text):
                self.uses_now = True
            value = parse_time(text, self.now)
            if value is None:
                raise invalid(f"not a date: {text!r}")
            return value
        try:
            return float(text)
        except ValueError:
            raise invalid(f"not a number: {text!r}") from None


def _apply(op: str, getter: Callable[[Asset], str], value: str) -> Predicate:
    if op in (":", "=", "!="):
        matcher = _text_matcher(value)
        return _negate_if(op, lambda a: matcher(getter(a)))
    compare = _COMPARE[op]
    return lambda a: compare(getter(a), value)


def _negate_if(op: str, predicate: Predicate) -> Predicate:
    if op == "!=":
        return lambda a: not predicate(a)
    if op not in (":", "="):
        raise invalid(f"operator {op} needs a date or number field")
    return predicate
