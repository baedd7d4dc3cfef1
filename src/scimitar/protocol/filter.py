"""SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2): text → syntax tree.

The parser knows the grammar, not the schemas: binding names to attributes is the job of
whoever evaluates the tree (the SQL compiler in storage, `matches` below for PATCH targets).

Leniencies, each seen from a real client:
- operators, `and`/`or`/`not` and literals in any case (`userName EQ "x"`, `AND`);
- a bare word where a quoted string belongs (`externalId eq jyoung`, Entra's legacy examples);
- `attr[filter].sub op value` (`emails[type eq "work"].value eq "x"`, Entra's matching query),
  read as `attr[filter and sub op value]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from scimitar.protocol.errors import InvalidFilter, InvalidPath
from scimitar.protocol.schema import Attribute, AttrType

MAX_FILTER_LENGTH = 4096
#: Comparisons (`attr op value`, `attr pr`, each inside a value filter too) in one filter.
MAX_FILTER_TERMS = 200
MAX_FILTER_NODES = MAX_FILTER_TERMS  # the former name
MAX_FILTER_DEPTH = 32

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})

Value: TypeAlias = str | bool | int | float | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`[uri:]attr[.sub]`; names keep the case the client sent."""

    attr: str
    sub: str | None = None
    uri: str | None = None

    def __str__(self) -> str:
        text = f"{self.uri}:{self.attr}" if self.uri else self.attr
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True, slots=True)
class Compare:
    path: AttrPath
    op: str
    value: Value


@dataclass(frozen=True, slots=True)
class Present:
    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    expr: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`attr[filter]`: some value of multi-valued `attr` satisfies `filter` (names inside are
    sub-attributes of `attr`)."""

    path: AttrPath
    filter: Filter


Filter: TypeAlias = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH `path` (RFC 7644 §3.5.2): `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`."""

    attr: AttrPath
    filter: Filter | None = None
    sub: str | None = None


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<punct>[()\[\]])
      | (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)
_NAME = r"[A-Za-z$][\w$-]*"
_ATTR_PATH = re.compile(rf"(?:(?P<uri>urn:.+):)?(?P<attr>{_NAME})(?:\.(?P<sub>{_NAME}))?", re.I)
_SUB = re.compile(rf"\.(?P<sub>{_NAME})")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "punct", "word"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise InvalidFilter(f"Unterminated string in filter at position {pos + 1}")
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def parse_attr_path(text: str) -> AttrPath | None:
    """`[uri:]attr[.sub]`, or None when `text` is not one."""
    match = _ATTR_PATH.fullmatch(text)
    if match is None:
        return None
    return AttrPath(match["attr"], match["sub"], match["uri"])


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.terms = 0

    def fail(self, message: str, token: _Token | None = None) -> InvalidFilter:
        at = token or self.peek()
        where = f" at position {at.pos + 1}" if at else " at the end"
        return InvalidFilter(f"Invalid filter {self.text!r}: {message}{where}")

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail("the filter ends too early")
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() in words:
            self.index += 1
            return token.text.lower()
        return None

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.index += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.punct(char):
            raise self.fail(f"expected {char!r}")

    def node(self, depth: int) -> None:
        if depth > MAX_FILTER_DEPTH:
            raise InvalidFilter(f"Filter is nested more than {MAX_FILTER_DEPTH} levels deep")

    def term(self) -> None:
        """One comparison more; `and`, `or`, `not` and parentheses are not terms."""
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise InvalidFilter(
                f"Filter has more than {MAX_FILTER_TERMS} terms (comparisons such as "
                '`userName eq "x"` or `title pr`)'
            )

    def parse_or(self, depth: int) -> Filter:
        left = self.parse_and(depth)
        while self.keyword("or"):
            self.node(depth)
            left = Or(left, self.parse_and(depth))
        return left

    def parse_and(self, depth: int) -> Filter:
        left = self.parse_unary(depth)
        while self.keyword("and"):
            self.node(depth)
            left = And(left, self.parse_unary(depth))
        return left

    def parse_unary(self, depth: int) -> Filter:
        self.node(depth)
        token = self.peek()
        nxt = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        if (
            token is not None
            and token.kind == "word"
            and token.text.lower() == "not"
            and nxt is not None
            and nxt.text == "("
        ):
            self.index += 1
            return Not(self.parse_group(depth + 1))
        if token is not None and token.kind == "punct" and token.text == "(":
            return self.parse_group(depth + 1)
        return self.parse_attr_exp(depth)

    def parse_group(self, depth: int) -> Filter:
        self.expect("(")
        inner = self.parse_or(depth)
        self.expect(")")
        return inner

    def parse_attr_exp(self, depth: int) -> Filter:
        token = self.take()
        path = parse_attr_path(token.text) if token.kind == "word" else None
        if path is None:
            raise self.fail(f"expected an attribute name, found {token.text!r}", token)
        if self.punct("["):
            if path.sub is not None:
                raise self.fail("a value filter must follow a plain attribute name", token)
            inner = self.parse_or(depth + 1)
            self.expect("]")
            after = self.peek()
            sub_match = _SUB.fullmatch(after.text) if after and after.kind == "word" else None
            if sub_match is None:
                return ValuePath(path, inner)
            self.index += 1
            # attr[f].sub op v  ==  attr[f and sub op v]
            return ValuePath(path, And(inner, self.parse_comparison(AttrPath(sub_match["sub"]))))
        return self.parse_comparison(path)

    def parse_comparison(self, path: AttrPath) -> Filter:
        self.term()
        op_token = self.take()
        op = op_token.text.lower()
        if op_token.kind != "word" or (op != "pr" and op not in COMPARE_OPS):
            raise self.fail(f"unknown operator {op_token.text!r}", op_token)
        if op == "pr":
            return Present(path)
        return Compare(path, op, self.parse_value())

    def parse_value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            try:
                value: str = json.loads(token.text)
            except ValueError:
                raise self.fail("malformed string", token) from None
            return value
        if token.kind != "word":
            raise self.fail(f"expected a value, found {token.text!r}", token)
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if _NUMBER.fullmatch(token.text):
            if any(ch in token.text for ch in ".eE"):
                return float(token.text)
            return int(token.text)
        if lowered in ("and", "or", "not") or lowered in COMPARE_OPS:
            raise self.fail(f"expected a value, found {token.text!r}", token)
        return token.text


# `attr eq "text"` with nothing to unescape: what identity providers send before every
# write. Read in one match; anything else goes through the tokenizer and parser.
_LOOKUP = re.compile(r'\s*(?P<path>[^\s()\[\]"]+)\s+[eE][qQ]\s+"(?P<value>[^"\\\x00-\x1f]*)"\s*')


def parse_filter(text: str) -> Filter:
    """Parse a filter expression; raise `InvalidFilter` with the position of the problem."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"Filter is longer than {MAX_FILTER_LENGTH} characters")
    lookup = _LOOKUP.fullmatch(text)
    if lookup is not None:
        path = parse_attr_path(lookup["path"])
        if path is not None:
            return Compare(path, "eq", lookup["value"])
    if not text.strip():
        raise InvalidFilter("Filter is empty")
    parser = _Parser(text, _tokenize(text))
    tree = parser.parse_or(0)
    if parser.peek() is not None:
        raise parser.fail(f"unexpected {parser.take().text!r}")
    return tree


def parse_patch_path(text: str) -> PatchPath:
    """Parse a PATCH path; raise `InvalidPath` when it is malformed."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidPath(f"Path is longer than {MAX_FILTER_LENGTH} characters")
    stripped = text.strip()
    bracket = stripped.find("[")
    if bracket < 0:
        attr = parse_attr_path(stripped)
        if attr is None:
            raise InvalidPath(f"Invalid path {text!r}")
        return PatchPath(attr)
    closing = stripped.rfind("]")
    attr = parse_attr_path(stripped[:bracket])
    if attr is None or attr.sub is not None or closing < bracket:
        raise InvalidPath(f"Invalid path {text!r}")
    rest = stripped[closing + 1 :]
    sub_match = _SUB.fullmatch(rest) if rest else None
    if rest and sub_match is None:
        raise InvalidPath(f"Invalid path {text!r}: unexpected {rest!r} after ']'")
    try:
        inner = parse_filter(stripped[bracket + 1 : closing])
    except InvalidFilter as exc:
        raise InvalidPath(f"Invalid value filter in path {text!r}: {exc.detail}") from None
    return PatchPath(attr, inner, sub_match["sub"] if sub_match else None)


def coerce_boolean(value: Any) -> bool | None:
    """A boolean, accepting Entra's "True"/"False" strings; None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _compare(attr: Attribute, actual: Any, op: str, expected: Value) -> bool:
    if attr.type is AttrType.BOOLEAN:
        left, right = coerce_boolean(actual), coerce_boolean(expected)
        if left is None or right is None:
            return False
        return (left == right) if op == "eq" else (left != right) if op == "ne" else False
    if attr.type in (AttrType.INTEGER, AttrType.DECIMAL):
        if not isinstance(actual, int | float) or not isinstance(expected, int | float):
            return op == "ne"
        return _ordered(actual, op, expected)
    if not isinstance(actual, str) or not isinstance(expected, str):
        return op == "ne" and actual != expected
    if attr.type is AttrType.DATETIME:
        left_dt, right_dt = parse_datetime(actual), parse_datetime(expected)
        if left_dt is not None and right_dt is not None and op not in ("co", "sw", "ew"):
            return _ordered(left_dt, op, right_dt)
    haystack: str = actual if attr.case_exact else actual.lower()
    needle: str = expected if attr.case_exact else expected.lower()
    if op == "co":
        return needle in haystack
    if op == "sw":
        return haystack.startswith(needle)
    if op == "ew":
        return haystack.endswith(needle)
    return _ordered(haystack, op, needle)


def _ordered(left: Any, op: str, right: Any) -> bool:
    result: bool
    if op == "eq":
        result = left == right
    elif op == "ne":
        result = left != right
    elif op == "gt":
        result = left > right
    elif op == "ge":
        result = left >= right
    elif op == "lt":
        result = left < right
    elif op == "le":
        result = left <= right
    else:
        result = False
    return result


def _lookup(element: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    return next((value for key, value in element.items() if key.lower() == lowered), None)


def matches(tree: Filter, element: dict[str, Any], attribute: Attribute) -> bool:
    """Whether one value of complex multi-valued `attribute` satisfies a value filter.

    Names in `tree` are sub-attributes of `attribute`; an unknown one raises `InvalidFilter`
    (never a silent match-all or match-none).
    """
    if isinstance(tree, And):
        return matches(tree.left, element, attribute) and matches(tree.right, element, attribute)
    if isinstance(tree, Or):
        return matches(tree.left, element, attribute) or matches(tree.right, element, attribute)
    if isinstance(tree, Not):
        return not matches(tree.expr, element, attribute)
    if isinstance(tree, ValuePath):
        raise InvalidFilter("Value filters cannot be nested")
    path = tree.path
    if path.uri is not None or path.sub is not None:
        raise InvalidFilter(f"{path} is not a sub-attribute of {attribute.name}")
    sub = attribute.sub(path.attr)
    if sub is None:
        raise InvalidFilter(f"{attribute.name} has no sub-attribute {path.attr!r}")
    actual = _lookup(element, sub.name)
    if isinstance(tree, Present):
        return actual not in (None, "", [], {})
    if actual is None:
        return tree.op == "ne" and tree.value is not None
    return _compare(sub, actual, tree.op, tree.value)
