"""SCIM filters → SQL (RFC 7644 §3.4.2.2): `compile_filter`.

`compile_filter` turns a parsed filter into a SQLAlchemy expression for
`WHERE org_id = :org AND <filter>` on `members` (Users) or `groups` (Groups). The database
evaluates all of it; every filter value is a bound parameter. Where each attribute is
stored is `filters.attributes`; what a filter may cost is `filters.cost`.

Decisions:
- Names are bound through `protocol.schema`, in any case, with or without their URN; an
  unqualified name may also be an extension's (`manager`, `department`, `orgRole`). An
  unknown or unstored attribute is `InvalidFilter`, wherever it sits (never a match-all).
- Two-valued logic: `not` is pushed down to the comparisons (De Morgan), and a negated
  comparison is written to hold where the attribute is absent. So `title ne "x"`,
  `not (title eq "x")` and `not (title pr)` include members without a title.
- `eq null` means "not present" and `ne null` "present" (RFC 7643 §2.5: null and unassigned
  are the same state); any other operator with null is `InvalidFilter`.
- A multi-valued attribute matches when one of its values does, and a bare one means its
  `value` (`emails co "@x"`); `ne` is the negation of `eq`: no value equals.
- caseExact=false values compare in the folded form `str.lower`, which the `*_key` columns
  hold. Values inside the JSON document are folded in SQL: on SQLite by `scimitar_fold`, which
  is `str.lower` registered on every connection (SQLite's lower() is ASCII-only); on
  PostgreSQL by `lower(x COLLATE "und-x-icu")`, ICU's full Unicode case mapping — the same as
  `str.lower` whatever the server's lc_ctype (under a C locale lower() is ASCII-only). This
  needs a PostgreSQL built with ICU, as every mainstream package is.
- Strings order by code point on both engines (`COLLATE "C"` on PostgreSQL). dateTimes
  compare as instants; a value without an offset is UTC. Booleans take only eq and ne.
- A test on rows (emails, a User's groups, a Group's members) is never correlated on
  `org_id`: that form made `not (emails[…])` and `emails co "1" or emails co "2"` quadratic
  in the org's size (the subquery ran again for every member). SQLite probes the owner's
  index for each row (`EXISTS … WHERE member_id = members.id`); PostgreSQL tests each row
  against the org's matching owners, hashed once per statement; an indexed equality
  (`emails.value eq`) is that org-bound set on both (see `attributes.Rows.any`).
- Tests of one multi-valued attribute are merged where logic allows: `A or B` when both ask
  for some value, `not A and not B` when both ask for none, so a 100-term `or` chain over
  `emails` is one test, not 100. What cannot be merged is counted by `filters.cost`, which
  refuses a filter past its budget.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeAlias

from sqlalchemy import Boolean, Column, ColumnElement, and_, bindparam, not_, or_

from scimitar.protocol.errors import InvalidFilter
from scimitar.protocol.filter import (
    MAX_FILTER_DEPTH,
    And,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    Value,
    ValuePath,
    parse_datetime,
)
from scimitar.protocol.schema import Attribute, AttrType, ResourceType
from scimitar.storage.filters.attributes import (
    STRINGS,
    Collection,
    Elements,
    Org,
    Predicate,
    Scalar,
    Storage,
    resolve,
    storage_of,
    unfilterable,
)
from scimitar.storage.filters.cost import Cost, Place
from scimitar.storage.filters.sql import code_points, fold
from scimitar.storage.tables import members

__all__ = ["compile_filter"]


# --- Comparisons ----------------------------------------------------------------------------

_ORDER: dict[str, Callable[[Any, Any], Predicate]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_LIKE: dict[str, Callable[[str], str]] = {
    "co": lambda text: f"%{text}%",
    "sw": lambda text: f"{text}%",
    "ew": lambda text: f"%{text}",
}


def _show(value: Value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_test(target: Scalar, op: str, value: Value) -> Predicate:
    if not isinstance(value, str):
        raise InvalidFilter(
            f"{target.label} is a string: compare it with a quoted string, not {_show(value)}"
        )
    expr: ColumnElement[Any] = target.expr
    if not target.attribute.case_exact:
        value = value.lower()  # the fold of `domain.context.fold` and the `*_key` columns
        expr = expr if target.folded else fold(expr)
    if op == "eq":
        return expr == value
    if op in _LIKE:
        return expr.like(_LIKE[op](_escape_like(value)), escape="\\")
    return _ORDER[op](code_points(expr), value)


def _boolean_test(target: Scalar, op: str, value: Value) -> Predicate:
    if op != "eq":
        raise InvalidFilter(f"{target.label} is a boolean: only eq and ne apply, not {op}")
    if not isinstance(value, bool):
        raise InvalidFilter(
            f"{target.label} is a boolean: compare it with true or false, not {_show(value)}"
        )
    return target.expr == bindparam(None, value, Boolean())


def _datetime_test(target: Scalar, op: str, value: Value) -> Predicate:
    if op in _LIKE:
        raise InvalidFilter(f"{target.label} is a dateTime: use eq, ne, gt, ge, lt or le, not {op}")
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise InvalidFilter(
            f"{target.label} is a dateTime: compare it with an ISO 8601 date and time "
            f'such as "2024-01-31T09:00:00Z", not {_show(value)}'
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # SQLite keeps timestamps as UTC text without an offset, so compare in UTC.
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise InvalidFilter(f"{target.label}: {_show(value)} is out of range") from None
    return target.expr == moment if op == "eq" else _ORDER[op](target.expr, moment)


def _compare(target: Scalar, op: str, value: Value, negate: bool) -> Predicate:
    kind = target.attribute.type
    if kind is AttrType.BOOLEAN:
        test = _boolean_test(target, op, value)
    elif kind is AttrType.DATETIME:
        test = _datetime_test(target, op, value)
    elif kind in STRINGS:
        test = _string_test(target, op, value)
    else:
        raise unfilterable(target.label)
    if not negate:
        return test
    return or_(target.expr.is_(None), not_(test)) if target.nullable else not_(test)


def _present(target: Scalar, negate: bool) -> Predicate:
    """RFC 7644 §3.4.2.2 `pr`: has a value that is not null and not empty."""
    expr = target.expr
    if target.attribute.type not in STRINGS:
        return expr.is_(None) if negate else expr.is_not(None)
    if not target.nullable:
        return expr == "" if negate else expr != ""
    return or_(expr.is_(None), expr == "") if negate else and_(expr.is_not(None), expr != "")


def _predicate(target: Scalar, node: Compare | Present, negate: bool) -> Predicate:
    if isinstance(node, Present):
        return _present(target, negate)
    return _compare(target, node.op, node.value, negate)


def _positive(node: Compare | Present, negate: bool) -> tuple[Compare | Present, bool]:
    """`ne` as `not eq`; `eq null` as `not pr` and `ne null` as `pr`."""
    if not isinstance(node, Compare):
        return node, negate
    if node.value is None:
        if node.op not in ("eq", "ne"):
            raise InvalidFilter(f"{node.path} {node.op} null: null takes only eq and ne")
        return Present(node.path), negate if node.op == "ne" else not negate
    if node.op == "ne":
        return Compare(node.path, "eq", node.value), not negate
    return node, negate


# --- The tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Membership:
    """A test on a multi-valued attribute, not yet SQL: some element satisfies `predicate`
    (None: there is an element), or none does when `negate`."""

    elements: Elements
    predicate: Predicate | None
    negate: bool
    #: `predicate` is an indexed equality (`emails.value eq "x"`): it finds few rows.
    lookup: bool = False


_Part: TypeAlias = Predicate | _Membership
_Leaf: TypeAlias = Callable[[Compare | Present | ValuePath, bool], _Part]
# The parser counts parentheses; and/or without them can add one level inside each pair.
_MAX_DEPTH = 2 * MAX_FILTER_DEPTH + 2
# Top-level tests of rows the database may turn into joins (see `Rows.any`).
_MAX_JOINS = 4


class _Writer:
    """Writes memberships as SQL for one org, and counts what they cost."""

    def __init__(self, org: Org, cost: Cost) -> None:
        self.org = org
        self.cost = cost
        self.joins = 0

    def sql(self, part: _Part, top: bool = False) -> Predicate:
        """`part` as SQL; `top` when the whole filter holds only where it does."""
        if not isinstance(part, _Membership):
            return part
        self.cost.add(part.elements, part.lookup)
        join = top and self.joins < _MAX_JOINS
        self.joins += join
        return part.elements.any(
            part.predicate, part.negate, self.org, lookup=part.lookup, join=join
        )


def _operands(tree: And | Or) -> Iterator[Filter]:
    """The operands of a chain of one operator, left to right, without recursion."""
    kind = type(tree)
    stack: list[Filter] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or) and type(node) is kind:
            stack += (node.right, node.left)
        else:
            yield node


def _merged(parts: list[_Part], conjunction: bool) -> list[_Part]:
    """`parts` with the memberships of one attribute merged where logic allows: in an `or`,
    "some value is A" or "some value is B" is "some value is A or B"; in an `and`, "no value
    is A" and "no value is B" is "no value is A or B"."""
    merged: list[_Part] = []
    by_key: dict[str, int] = {}
    for part in parts:
        if not isinstance(part, _Membership) or part.negate != conjunction:
            merged.append(part)
            continue
        index = by_key.get(part.elements.key)
        if index is None:
            by_key[part.elements.key] = len(merged)
            merged.append(part)
            continue
        kept = merged[index]
        assert isinstance(kept, _Membership)
        either = (
            None
            if kept.predicate is None or part.predicate is None
            else or_(kept.predicate, part.predicate)
        )
        lookup = kept.lookup and part.lookup
        merged[index] = _Membership(kept.elements, either, kept.negate, lookup)
    return merged


def _compile(
    tree: Filter, negate: bool, leaf: _Leaf, writer: _Writer, depth: int = 0, top: bool = False
) -> _Part:
    """`tree` (negated when `negate`) as SQL, or as one membership not yet written; `top`
    when the whole filter holds only where `tree` does."""
    if depth > _MAX_DEPTH:
        raise InvalidFilter(f"Filter is nested more than {MAX_FILTER_DEPTH} levels deep")
    while isinstance(tree, Not):
        tree, negate = tree.expr, not negate
    if not isinstance(tree, And | Or):
        return leaf(tree, negate)
    # One flat list per chain: a 200-term `or` costs no Python or SQLAlchemy recursion.
    conjunction = isinstance(tree, And) != negate
    top = top and conjunction
    parts = [_compile(part, negate, leaf, writer, depth + 1, top) for part in _operands(tree)]
    parts = _merged(parts, conjunction)
    if len(parts) == 1:
        return parts[0]  # still a membership: the enclosing chain may merge it further
    written = [writer.sql(part, top) for part in parts]
    return and_(*written) if conjunction else or_(*written)


def _sub_attributes(attribute: Attribute, tree: Filter) -> dict[str, Attribute]:
    """Every sub-attribute a value filter names, by the name as written."""
    subs: dict[str, Attribute] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack += (node.left, node.right)
        elif isinstance(node, Not):
            stack.append(node.expr)
        elif isinstance(node, ValuePath):
            raise InvalidFilter(
                f"Value filters cannot be nested: {node.path}[…] in {attribute.name}"
            )
        else:
            path = node.path
            sub = attribute.sub(path.attr)
            if path.uri is not None or path.sub is not None or sub is None:
                raise InvalidFilter(
                    f"Unknown attribute {str(path)!r} in filter: "
                    f"{attribute.name} has no sub-attribute {str(path)!r}"
                )
            subs[path.attr] = sub
    return subs


def _value_path(storage: Storage, node: ValuePath, negate: bool, writer: _Writer) -> _Part:
    target = resolve(storage, node.path)
    if not isinstance(target, Collection):
        raise InvalidFilter(
            f"{node.path}[…]: a value filter applies only to a multi-valued attribute"
        )
    subs = _sub_attributes(target.attribute, node.filter)
    elements = target.elements(subs.values())

    def leaf(inner: Compare | Present | ValuePath, inner_negate: bool) -> _Part:
        assert not isinstance(inner, ValuePath)  # _sub_attributes refused nesting
        inner, inner_negate = _positive(inner, inner_negate)
        element = elements.value(subs[inner.path.attr])
        assert element is not None  # `elements` holds every sub-attribute in `subs`
        writer.cost.compare(Place.VALUES)
        return _predicate(element, inner, inner_negate)

    inside = _compile(node.filter, False, leaf, writer)
    assert not isinstance(inside, _Membership)  # its leaves are comparisons of one element
    conditions = _operands(node.filter) if isinstance(node.filter, And) else [node.filter]
    lookup = any(
        isinstance(part, Compare) and _is_lookup(elements, subs[part.path.attr], part)
        for part in conditions
    )
    return _Membership(elements, inside, negate, lookup)


def _is_lookup(elements: Elements, sub: Attribute, node: Compare | Present) -> bool:
    """Whether `node`, on `sub` of `elements`, is an equality an index answers."""
    return (
        isinstance(node, Compare)
        and node.op == "eq"
        and isinstance(node.value, str)
        and sub.name in getattr(elements, "lookups", ())
    )


def _multi(target: Collection, node: Compare | Present, negate: bool) -> _Part:
    if isinstance(node, Present) and target.sub is None:
        return _Membership(target.elements(()), None, negate)
    sub = target.sub or target.value_sub()
    elements = target.elements((sub,))
    element = elements.value(sub)
    assert element is not None  # `elements` holds `sub`
    lookup = _is_lookup(elements, sub, node)
    return _Membership(elements, _predicate(element, node, False), negate, lookup)


def _leaf(
    storage: Storage, node: Compare | Present | ValuePath, negate: bool, writer: _Writer
) -> _Part:
    if isinstance(node, ValuePath):
        return _value_path(storage, node, negate, writer)
    node, negate = _positive(node, negate)
    target = resolve(storage, node.path)
    if isinstance(target, Scalar):
        writer.cost.compare(Place.COLUMN if isinstance(target.expr, Column) else Place.DOCUMENT)
        return _predicate(target, node, negate)
    if isinstance(target, Collection):
        writer.cost.compare(Place.VALUES)
        return _multi(target, node, negate)
    writer.cost.compare(Place.DOCUMENT)
    if isinstance(node, Present):
        parts = [_present(part, negate) for part in target.parts()]
        return and_(*parts) if negate else or_(*parts)
    return _compare(target.value(), node.op, node.value, negate)


# --- Public API -----------------------------------------------------------------------------


def compile_filter(
    resource: ResourceType, tree: Filter, *, org_id: str | None = None
) -> ColumnElement[bool]:
    """The SQL condition for `tree` on `resource`'s table (`members` or `groups`).

    `org_id`, the org the statement reads, lets tests on multi-valued attributes be computed
    once per statement from that org's rows (see the module's decisions); without it they
    are correlated with each outer row's org, which only an indexed lookup keeps cheap.

    Raises `InvalidFilter` naming the attribute or operator that cannot be used, or saying
    why the filter would cost too much (`filters.cost`).
    """
    storage = storage_of(resource)
    org = None if org_id is None else bindparam(None, org_id, type_=members.c.org_id.type)
    writer = _Writer(org, Cost())

    def leaf(node: Compare | Present | ValuePath, negate: bool) -> _Part:
        return _leaf(storage, node, negate, writer)

    condition = writer.sql(_compile(tree, False, leaf, writer, top=True), top=True)
    writer.cost.check(resource.name)
    return condition
