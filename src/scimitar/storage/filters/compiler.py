"""SCIM filters → SQL (RFC 7644 §3.4.2.2, §3.4.2.3): `compile_filter` and `sort_key`.

`compile_filter` turns a parsed filter into a SQLAlchemy expression for
`WHERE org_id = :org AND <filter>` on `members` (Users) or `groups` (Groups). The database
evaluates all of it; every filter value is a bound parameter.

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
- Semi-joins over rows (emails, a User's groups, a Group's members) are written per engine so
  that both drive them from an index: PostgreSQL pulls a correlated EXISTS up into an
  index-driven semi-join, SQLite runs EXISTS once per row but walks `seq IN (…)` through the
  (org_id, seq) index.
- `sort_key` returns the indexed `*_key` columns as they are, so a sorted page is an index
  walk; on PostgreSQL that is the database collation's order, not strictly code points.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from functools import cache, cached_property, lru_cache
from typing import Any, TypeAlias

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    FromClause,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import Function, GenericFunction
from sqlalchemy.sql.visitors import InternalTraversal

from scimitar.protocol.errors import InvalidFilter, InvalidValue
from scimitar.protocol.filter import (
    MAX_FILTER_DEPTH,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    Value,
    ValuePath,
    parse_datetime,
)
from scimitar.protocol.schema import (
    GROUP,
    USER,
    Attribute,
    AttrType,
    Mutability,
    ResourceType,
    Schema,
    common_attribute,
)
from scimitar.storage.tables import Document, group_members, groups, member_emails, members

__all__ = [
    "SQLITE_FOLD",
    "Equality",
    "compile_filter",
    "indexed_equality",
    "sort_key",
    "sqlite_fold",
]

SQLITE_FOLD = "scimitar_fold"


def sqlite_fold(value: object) -> object:
    """`scimitar_fold` on SQLite: `str.lower`, the fold of the `*_key` columns."""
    return value.lower() if isinstance(value, str) else value


# --- SQL building blocks, one rendering per engine ------------------------------------------


class _ArrayElements(GenericFunction[Any]):
    """One row (`value`) per element of the JSON array under a top-level key of a document."""

    _register = False
    inherit_cache = True
    name = "json_each"

    def __init__(self, document: ColumnElement[Any], key: str) -> None:
        # Both engines' spellings of the key are bound; each engine renders its own.
        super().__init__(document, literal(f'$."{key}"'), literal(key))


@compiles(_ArrayElements)
def _array_elements(element: _ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    document, path, _ = element.clauses.clauses
    return f"json_each({compiler.process(document, **kw)}, {compiler.process(path, **kw)})"


@compiles(_ArrayElements, "postgresql")
def _array_elements_postgresql(element: _ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    document, _, key = element.clauses.clauses
    inner = f"{compiler.process(document, **kw)} -> {compiler.process(key, **kw)}"
    return f"jsonb_array_elements({inner})"


class _PerEngine(ColumnElement[Any]):
    """One expression written for each engine; the compiler renders its own."""

    inherit_cache = True
    _traverse_internals = [
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, sqlite: ColumnElement[Any], postgresql: ColumnElement[Any]) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql
        self.type = sqlite.type
        # A predicate renders as it is, not as `(…) = 1` on SQLite.
        self._is_implicitly_boolean = sqlite._is_implicitly_boolean

    @property
    def _from_objects(self) -> list[FromClause]:
        return self.sqlite._from_objects


@compiles(_PerEngine)
def _per_engine(element: _PerEngine, compiler: SQLCompiler, **kw: Any) -> str:
    chosen = element.postgresql if compiler.dialect.name == "postgresql" else element.sqlite
    return compiler.process(chosen, **kw)


def _fold(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """The caseExact=false form of a string, `str.lower`, computed in SQL."""
    sqlite = Function(SQLITE_FOLD, expr, type_=String())
    return _PerEngine(sqlite, func.lower(expr.collate("und-x-icu")))


def _code_points(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """A string that orders by code point, as SQLite's BINARY collation does."""
    return _PerEngine(expr, expr.collate("C"))


# --- Where values live ----------------------------------------------------------------------

_Predicate: TypeAlias = ColumnElement[bool]
_ONE = literal_column("1", Integer())
_Stored: TypeAlias = tuple[ColumnElement[Any], bool]  # SQL, and whether it is already folded


@dataclass(frozen=True, slots=True)
class _Scalar:
    """One value of an attribute in SQL; `folded` when SQL holds `str.lower` of it."""

    attribute: Attribute
    label: str
    expr: ColumnElement[Any]
    folded: bool = False

    @property
    def nullable(self) -> bool:
        return not isinstance(self.expr, Column) or self.expr.nullable is not False


@dataclass(frozen=True)
class _Rows:
    """Values kept as rows of a child table, one per value, with an index to find them."""

    label: str
    outer: Table  # members or groups
    source: FromClause  # the child table, joined to what it names
    owner: Column[str]  # the child's reference to outer.id
    columns: Mapping[str, _Stored]

    @cached_property
    def twin(self) -> FromClause:
        """The outer table again, to map a child row to its owner's seq (built once: slow)."""
        return self.outer.alias()

    def value(self, sub: Attribute) -> _Scalar | None:
        stored = self.columns.get(sub.name)
        return None if stored is None else _Scalar(sub, f"{self.label}.{sub.name}", *stored)

    def any(self, predicate: _Predicate | None, negate: bool) -> _Predicate:
        # org_id = the outer org_id makes the child's (org_id, …) index usable.
        criteria = [self.owner.table.c.org_id == self.outer.c.org_id]
        if predicate is not None:
            criteria.append(predicate)
        seqs = (
            select(self.twin.c.seq)
            .select_from(self.source.join(self.twin, self.twin.c.id == self.owner))
            .where(*criteria)
        )
        found = select(_ONE).select_from(self.source)
        found = found.where(self.owner == self.outer.c.id, *criteria)
        if negate:
            return _PerEngine(self.outer.c.seq.not_in(seqs), ~found.exists())
        return _PerEngine(self.outer.c.seq.in_(seqs), found.exists())


class _JsonArray:
    """Values kept as a JSON array in the document; read one row per element."""

    def __init__(self, document: ColumnElement[Any], attribute: Attribute) -> None:
        self.attribute = attribute
        self.rows = _ArrayElements(document, attribute.name).table_valued(column("value", Document))

    def value(self, sub: Attribute) -> _Scalar | None:
        if not _stored(sub):
            return None
        label = f"{self.attribute.name}.{sub.name}"
        return _Scalar(sub, label, _json_value(self.rows.c.value, (sub.name,), sub))

    def any(self, predicate: _Predicate | None, negate: bool) -> _Predicate:
        query = select(_ONE).select_from(self.rows)
        found = (query if predicate is None else query.where(predicate)).exists()
        return ~found if negate else found


_Elements: TypeAlias = _Rows | _JsonArray


@dataclass(frozen=True)
class _Collection:
    """A multi-valued attribute (and the sub-attribute named): row tables, else the document."""

    attribute: Attribute
    sub: Attribute | None
    rows: tuple[_Rows, ...]
    document: ColumnElement[Any] | None

    def elements(self, subs: Collection[Attribute]) -> _Elements:
        """The first place that holds every one of `subs`."""
        for rows in self.rows:
            if all(rows.value(sub) is not None for sub in subs):
                return rows
        if self.document is not None and _stored(self.attribute):
            array = _JsonArray(self.document, self.attribute)
            if all(array.value(sub) is not None for sub in subs):
                return array
        missing = [sub.name for sub in subs if all(r.value(sub) is None for r in self.rows)]
        raise _unfilterable(".".join([self.attribute.name, *missing[:1]]))

    def value_sub(self) -> Attribute:
        sub = self.attribute.sub("value")
        if sub is None:
            raise InvalidFilter(
                f"{self.attribute.name} has no value: compare one of its sub-attributes"
            )
        return sub


@dataclass(frozen=True, slots=True)
class _Complex:
    """A single-valued complex attribute (`name`, `manager`) named without a sub-attribute."""

    storage: _Storage
    schema: Schema | None
    attribute: Attribute

    def parts(self) -> list[_Scalar]:
        subs = self.attribute.sub_attributes
        found = (_scalar(self.storage, self.schema, self.attribute, sub) for sub in subs)
        return [part for part in found if part is not None]

    def value(self) -> _Scalar:
        """RFC 7644 §3.4.2.2 compares a complex attribute by its `value` (`manager`)."""
        sub = self.attribute.sub("value")
        part = None if sub is None else _scalar(self.storage, self.schema, self.attribute, sub)
        if part is None:
            names = ", ".join(p.label for p in self.parts())
            raise InvalidFilter(f"{self.attribute.name} is complex: compare one of {names}")
        return part


_Target: TypeAlias = _Scalar | _Collection | _Complex


@dataclass(frozen=True)
class _Storage:
    """How one resource type is stored: columns, row tables, and the JSON document."""

    resource: ResourceType
    columns: Mapping[str, _Stored]
    rows: Mapping[str, tuple[_Rows, ...]]
    document: ColumnElement[Any] | None
    sort_keys: Mapping[str, ColumnElement[Any]]


_EMAIL_ROWS = _Rows(
    "emails",
    members,
    member_emails,
    member_emails.c.member_id,
    {
        "value": (member_emails.c.value_key, True),
        "type": (member_emails.c.type, False),
        "primary": (member_emails.c.primary, False),
    },
)
_GROUP_ROWS = _Rows(
    "groups",
    members,
    group_members.join(groups, groups.c.id == group_members.c.group_id),
    group_members.c.member_id,
    {
        # Ids are generated lower-case (uuid4), so they are their own fold.
        "value": (group_members.c.group_id, True),
        "display": (groups.c.display_name_key, True),
        "type": (literal("direct"), True),
    },
)
_MEMBER_ROWS = _Rows(
    "members",
    groups,
    group_members,
    group_members.c.group_id,
    {"value": (group_members.c.member_id, False), "type": (literal("user"), True)},
)
# RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else its first.
_PRIMARY_EMAIL = (
    select(member_emails.c.value_key)
    .where(member_emails.c.member_id == members.c.id)
    .order_by(member_emails.c.primary.desc(), member_emails.c.position)
    .limit(1)
    .scalar_subquery()
)
_SORTABLE = ("id", "externalId", "userName", "displayName", "name.givenName", "name.familyName")


def _storage(
    resource: ResourceType,
    table: Table,
    columns: Mapping[str, _Stored],
    rows: Mapping[str, tuple[_Rows, ...]],
    document: ColumnElement[Any] | None,
    sort_keys: Mapping[str, ColumnElement[Any]],
) -> _Storage:
    columns = {
        "id": (table.c.id, False),
        "externalId": (table.c.external_id, False),
        "displayName": (table.c.display_name_key, True),
        "meta.created": (table.c.created, False),
        "meta.lastModified": (table.c.last_modified, False),
        "meta.resourceType": (literal(resource.name), False),
        **columns,
    }
    sortable = {label: stored[0] for label, stored in columns.items() if label in _SORTABLE}
    timestamps = {"meta.created": table.c.created, "meta.lastModified": table.c.last_modified}
    return _Storage(resource, columns, rows, document, {**sortable, **timestamps, **sort_keys})


_STORAGE = {
    USER.name: _storage(
        USER,
        members,
        {
            "userName": (members.c.user_name_key, True),
            "name.givenName": (members.c.given_name_key, True),
            "name.familyName": (members.c.family_name_key, True),
            "active": (members.c.active, False),
            "orgRole": (members.c.org_role, False),
        },
        {"emails": (_EMAIL_ROWS,), "groups": (_GROUP_ROWS,)},
        members.c.attributes,
        {"emails": _PRIMARY_EMAIL, "emails.value": _PRIMARY_EMAIL},
    ),
    # A Group's document holds nothing that is not also a column or a row.
    GROUP.name: _storage(GROUP, groups, {}, {"members": (_MEMBER_ROWS,)}, None, {}),
}


# --- Binding names to storage ---------------------------------------------------------------


def _stored(attribute: Attribute) -> bool:
    """Whether a document keeps this attribute (see `protocol.resource`)."""
    return attribute.mutability in (Mutability.READ_WRITE, Mutability.IMMUTABLE)


def _unfilterable(label: str) -> InvalidFilter:
    return InvalidFilter(f"Attribute {label!r} cannot be used in a filter")


def _attribute(resource: ResourceType, path: AttrPath) -> tuple[Schema | None, Attribute]:
    """The schema (None for id, externalId, meta) and attribute that `path` names."""
    schemas = resource.schemas
    if path.uri is not None:
        schema = resource.schema_for(path.uri)
        if schema is None:
            raise InvalidFilter(f"Unknown schema {path.uri!r} in filter attribute {str(path)!r}")
        schemas = (schema,)
    common = common_attribute(path.attr)
    if common is not None and schemas[0] is resource.schema:
        return None, common
    for schema in schemas:
        found = schema.attribute(path.attr)
        if found is not None:
            return schema, found
    raise InvalidFilter(
        f"Unknown attribute {str(path)!r} in filter: {resource.name} has no {path.attr!r}"
    )


def _sub_attribute(attribute: Attribute, path: AttrPath) -> Attribute | None:
    if path.sub is None:
        return None
    sub = attribute.sub(path.sub)
    if sub is None:
        raise InvalidFilter(
            f"Unknown attribute {str(path)!r} in filter: "
            f"{attribute.name} has no sub-attribute {path.sub!r}"
        )
    return sub


def _json_value(
    document: ColumnElement[Any], keys: tuple[str, ...], attribute: Attribute
) -> ColumnElement[Any]:
    element = document[keys]
    value: ColumnElement[Any] = (
        element.as_boolean() if attribute.type is AttrType.BOOLEAN else element.as_string()
    )
    return value


def _scalar(
    storage: _Storage, schema: Schema | None, attribute: Attribute, sub: Attribute | None
) -> _Scalar | None:
    """A single value: a column, else the document's; None when it is not stored."""
    target = sub or attribute
    label = attribute.name if sub is None else f"{attribute.name}.{sub.name}"
    stored = storage.columns.get(label)
    if stored is not None:
        return _Scalar(target, label, *stored)
    if storage.document is None or not (_stored(attribute) and _stored(target)):
        return None
    keys = (attribute.name,) if sub is None else (attribute.name, sub.name)
    if schema is not None and schema is not storage.resource.schema:
        keys = (schema.id, *keys)
    return _Scalar(target, label, _json_value(storage.document, keys, target))


def _resolve(storage: _Storage, path: AttrPath) -> _Target:
    schema, attribute = _attribute(storage.resource, path)
    sub = _sub_attribute(attribute, path)
    if attribute.multi_valued:
        rows = storage.rows.get(attribute.name, ())
        return _Collection(attribute, sub, rows, storage.document)
    if attribute.type is AttrType.COMPLEX and sub is None:
        return _Complex(storage, schema, attribute)
    found = _scalar(storage, schema, attribute, sub)
    if found is None:
        raise _unfilterable(str(path))
    return found


# --- Comparisons ----------------------------------------------------------------------------

_STRINGS = (AttrType.STRING, AttrType.REFERENCE, AttrType.BINARY)
_ORDER: dict[str, Callable[[Any, Any], _Predicate]] = {
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


def _string_test(target: _Scalar, op: str, value: Value) -> _Predicate:
    if not isinstance(value, str):
        raise InvalidFilter(
            f"{target.label} is a string: compare it with a quoted string, not {_show(value)}"
        )
    expr: ColumnElement[Any] = target.expr
    if not target.attribute.case_exact:
        value = value.lower()  # the fold of `domain.context.fold` and the `*_key` columns
        expr = expr if target.folded else _fold(expr)
    if op == "eq":
        return expr == value
    if op in _LIKE:
        return expr.like(_LIKE[op](_escape_like(value)), escape="\\")
    return _ORDER[op](_code_points(expr), value)


def _boolean_test(target: _Scalar, op: str, value: Value) -> _Predicate:
    if op != "eq":
        raise InvalidFilter(f"{target.label} is a boolean: only eq and ne apply, not {op}")
    if not isinstance(value, bool):
        raise InvalidFilter(
            f"{target.label} is a boolean: compare it with true or false, not {_show(value)}"
        )
    return target.expr == bindparam(None, value, Boolean())


def _datetime_test(target: _Scalar, op: str, value: Value) -> _Predicate:
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


def _compare(target: _Scalar, op: str, value: Value, negate: bool) -> _Predicate:
    kind = target.attribute.type
    if kind is AttrType.BOOLEAN:
        test = _boolean_test(target, op, value)
    elif kind is AttrType.DATETIME:
        test = _datetime_test(target, op, value)
    elif kind in _STRINGS:
        test = _string_test(target, op, value)
    else:
        raise _unfilterable(target.label)
    if not negate:
        return test
    return or_(target.expr.is_(None), not_(test)) if target.nullable else not_(test)


def _present(target: _Scalar, negate: bool) -> _Predicate:
    """RFC 7644 §3.4.2.2 `pr`: has a value that is not null and not empty."""
    expr = target.expr
    if target.attribute.type not in _STRINGS:
        return expr.is_(None) if negate else expr.is_not(None)
    if not target.nullable:
        return expr == "" if negate else expr != ""
    return or_(expr.is_(None), expr == "") if negate else and_(expr.is_not(None), expr != "")


def _predicate(target: _Scalar, node: Compare | Present, negate: bool) -> _Predicate:
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

_Leaf: TypeAlias = Callable[[Compare | Present | ValuePath, bool], _Predicate]
# The parser counts parentheses; and/or without them can add one level inside each pair.
_MAX_DEPTH = 2 * MAX_FILTER_DEPTH + 2


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


def _compile(tree: Filter, negate: bool, leaf: _Leaf, depth: int = 0) -> _Predicate:
    if depth > _MAX_DEPTH:
        raise InvalidFilter(f"Filter is nested more than {MAX_FILTER_DEPTH} levels deep")
    while isinstance(tree, Not):
        tree, negate = tree.expr, not negate
    if isinstance(tree, And | Or):
        # One flat list per chain: a 100-term `or` costs no Python or SQLAlchemy recursion.
        parts = [_compile(part, negate, leaf, depth + 1) for part in _operands(tree)]
        return and_(*parts) if isinstance(tree, And) != negate else or_(*parts)
    return leaf(tree, negate)


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


def _value_path(storage: _Storage, node: ValuePath, negate: bool) -> _Predicate:
    target = _resolve(storage, node.path)
    if not isinstance(target, _Collection):
        raise InvalidFilter(
            f"{node.path}[…]: a value filter applies only to a multi-valued attribute"
        )
    subs = _sub_attributes(target.attribute, node.filter)
    elements = target.elements(subs.values())

    def leaf(inner: Compare | Present | ValuePath, inner_negate: bool) -> _Predicate:
        assert not isinstance(inner, ValuePath)  # _sub_attributes refused nesting
        inner, inner_negate = _positive(inner, inner_negate)
        element = elements.value(subs[inner.path.attr])
        assert element is not None  # `elements` holds every sub-attribute in `subs`
        return _predicate(element, inner, inner_negate)

    return elements.any(_compile(node.filter, False, leaf), negate)


def _multi(target: _Collection, node: Compare | Present, negate: bool) -> _Predicate:
    if isinstance(node, Present) and target.sub is None:
        return target.elements(()).any(None, negate)
    sub = target.sub or target.value_sub()
    elements = target.elements((sub,))
    element = elements.value(sub)
    assert element is not None  # `elements` holds `sub`
    return elements.any(_predicate(element, node, False), negate)


def _leaf(storage: _Storage, node: Compare | Present | ValuePath, negate: bool) -> _Predicate:
    if isinstance(node, ValuePath):
        return _value_path(storage, node, negate)
    node, negate = _positive(node, negate)
    target = _resolve(storage, node.path)
    if isinstance(target, _Scalar):
        return _predicate(target, node, negate)
    if isinstance(target, _Collection):
        return _multi(target, node, negate)
    if isinstance(node, Present):
        parts = [_present(part, negate) for part in target.parts()]
        return and_(*parts) if negate else or_(*parts)
    return _compare(target.value(), node.op, node.value, negate)


# --- Public API -----------------------------------------------------------------------------


def compile_filter(resource: ResourceType, tree: Filter) -> ColumnElement[bool]:
    """The SQL condition for `tree` on `resource`'s table (`members` or `groups`).

    Raises `InvalidFilter` naming the attribute or operator that cannot be used.
    """
    storage = _STORAGE[resource.name]
    return _compile(tree, False, lambda node, negate: _leaf(storage, node, negate))


@dataclass(frozen=True, slots=True)
class Equality:
    """`attr eq "text"` on an indexed column: compare `column` with `value` (already folded
    as `compile_filter` would); `unique` when at most one row per org can match."""

    column: Column[Any]
    value: str
    unique: bool


@cache
def _unique_in_org(column: Column[Any]) -> bool:
    table = column.table
    assert isinstance(table, Table)
    return bool(column.unique) or any(
        isinstance(constraint, UniqueConstraint)
        and {c.key for c in constraint.columns} == {"org_id", column.key}
        for constraint in table.constraints
    )


def indexed_equality(resource: ResourceType, tree: Filter) -> Equality | None:
    """`tree` as an `Equality` when it compares an indexed column (`id`, `externalId`,
    `userName`, `displayName`, `name.givenName`, `name.familyName`) with a string; None
    for any other filter. Identity providers look every resource up this way before they
    write it, so this one shape gets prepared statements of its own (see `domain.search`).
    """
    if not (isinstance(tree, Compare) and tree.op == "eq" and isinstance(tree.value, str)):
        return None
    found = _indexed_column(resource.name, tree.path)
    if found is None:
        return None
    column, fold, unique = found
    return Equality(column, tree.value.lower() if fold else tree.value, unique)


@lru_cache(maxsize=256)  # by attribute path, not value: a handful of spellings in practice
def _indexed_column(resource_name: str, path: AttrPath) -> tuple[Column[Any], bool, bool] | None:
    """The indexed column `path` names, whether its values are folded (`str.lower`), and
    whether it is unique in an org; None when `path` is not such a column."""
    target = _resolve(_STORAGE[resource_name], path)
    if not (
        isinstance(target, _Scalar)
        and target.label in _SORTABLE
        and isinstance(target.expr, Column)
        and target.attribute.type in _STRINGS
    ):
        return None
    if target.attribute.case_exact:
        return target.expr, False, _unique_in_org(target.expr)
    # Every _SORTABLE case-insensitive column holds `str.lower` (see `_string_test`).
    if not target.folded:
        return None
    return target.expr, True, _unique_in_org(target.expr)


def sort_key(resource: ResourceType, path: AttrPath) -> ColumnElement[Any]:
    """The ORDER BY expression for `sortBy` (RFC 7644 §3.4.2.3); callers add `seq` last.

    Raises `InvalidValue` listing the sortable attributes for anything else.
    """
    storage = _STORAGE[resource.name]
    try:
        _, attribute = _attribute(resource, path)
        sub = _sub_attribute(attribute, path)
    except InvalidFilter:
        label = str(path)
    else:
        label = attribute.name if sub is None else f"{attribute.name}.{sub.name}"
    key = storage.sort_keys.get(label)
    if key is None:
        names = ", ".join(storage.sort_keys)
        raise InvalidValue(f"Cannot sort {resource.name}s by {str(path)!r}: use one of {names}")
    return key
