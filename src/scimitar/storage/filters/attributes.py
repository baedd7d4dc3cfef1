"""Where each SCIM attribute is stored: columns, rows of child tables, the JSON document.

`resolve` binds a filter's attribute path to one of those; `indexed_equality` and
`sort_key` read the same map for the lookups identity providers send and for `sortBy`.
`sort_key` returns the indexed `*_key` columns as they are, so a sorted page is an index
walk; on PostgreSQL that is the database collation's order, not strictly code points.
"""

from __future__ import annotations

from collections.abc import Collection as Many
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any, TypeAlias

from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Integer,
    Table,
    UniqueConstraint,
    column,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.sql.util import find_tables

from scimitar.protocol.errors import InvalidFilter, InvalidValue
from scimitar.protocol.filter import AttrPath, Compare, Filter
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
from scimitar.storage.filters.sql import ArrayElements, PerEngine
from scimitar.storage.member_columns import USER_COLUMNS, filter_column
from scimitar.storage.tables import Document, group_members, groups, member_emails, members

__all__ = [
    "STRINGS",
    "Collection",
    "Complex",
    "Elements",
    "Equality",
    "JsonArray",
    "Org",
    "Predicate",
    "Rows",
    "Scalar",
    "Storage",
    "Target",
    "indexed_equality",
    "resolve",
    "sort_key",
    "storage_of",
    "unfilterable",
]

STRINGS = (AttrType.STRING, AttrType.REFERENCE, AttrType.BINARY)

Predicate: TypeAlias = ColumnElement[bool]
#: The org's id as a bound parameter, or None when the caller does not name the org.
Org: TypeAlias = ColumnElement[str] | None
_ONE = literal_column("1", Integer())
_Stored: TypeAlias = tuple[ColumnElement[Any], bool]  # SQL, and whether it is already folded


@dataclass(frozen=True, slots=True)
class Scalar:
    """One value of an attribute in SQL; `folded` when SQL holds `str.lower` of it."""

    attribute: Attribute
    label: str
    expr: ColumnElement[Any]
    folded: bool = False

    @property
    def nullable(self) -> bool:
        return not isinstance(self.expr, Column) or self.expr.nullable is not False


@dataclass(frozen=True)
class Rows:
    """Values kept as rows of a child table, one per value, with an index to find them."""

    label: str
    outer: Table  # members or groups
    source: FromClause  # the child table, joined to what it names
    owner: Column[str]  # the child's reference to outer.id
    columns: Mapping[str, _Stored]
    #: Sub-attributes whose `eq` an index of the org's rows answers (`emails.value`).
    lookups: frozenset[str] = frozenset()
    #: An (org_id, …) index finds the org's rows of `source` (else they are found through
    #: their owners).
    org_indexed: bool = True

    @cached_property
    def twin(self) -> FromClause:
        """The outer table again, to map a child row to its owner's seq (built once: slow)."""
        return self.outer.alias()

    def value(self, sub: Attribute) -> Scalar | None:
        stored = self.columns.get(sub.name)
        return None if stored is None else Scalar(sub, f"{self.label}.{sub.name}", *stored)

    @property
    def key(self) -> str:
        return f"{self.outer.name}.{self.label}"

    def any(
        self,
        predicate: Predicate | None,
        negate: bool,
        org: Org,
        *,
        lookup: bool = False,
        join: bool = True,
    ) -> Predicate:
        """Whether some row satisfies `predicate` (none does, when `negate`). `lookup`: the
        predicate is an equality one of `lookups` answers, so it finds few rows. `join`:
        the test is one of a few conditions the whole filter needs (PostgreSQL may then
        join instead of testing each row)."""
        if org is None:
            return self._correlated(predicate, negate)
        in_org = self._org_set(predicate, negate, org)
        # SQLite probes the owner's index for each outer row (a microsecond), but builds a
        # set from the org's rows only when an index finds them; PostgreSQL runs a probe
        # per row as a subplan (five times dearer), and hashes the set instead. It turns
        # a top-level `IN` into a semi-join, which plans in no time for a few, but in
        # seconds for a hundred of them: past a few, `IS true` keeps them hashed tests.
        sqlite = in_org if lookup else self._keyed(predicate, negate)
        return PerEngine(sqlite, in_org if join or negate else in_org.is_(true()))

    def _org_set(
        self, predicate: Predicate | None, negate: bool, org: ColumnElement[str]
    ) -> Predicate:
        """`id [NOT] IN (the org's matching owners)`, found once per statement, whatever
        `and`/`or`/`not` surround it."""
        tables: list[FromClause] = list(find_tables(self.source))
        source: FromClause = self.source
        owner: ColumnElement[str] = self.owner
        if not self.org_indexed:
            source, owner = self._joined, self.twin.c.id
            tables.append(self.twin)
        # Every table is bound to the org, so the plan may start from whichever
        # (org_id, …) index suits the predicate.
        criteria = [table.c.org_id == org for table in tables]
        if predicate is not None:
            criteria.append(predicate)
        owners = select(owner).select_from(source).where(*criteria)
        return self.outer.c.id.not_in(owners) if negate else self.outer.c.id.in_(owners)

    def _keyed(self, predicate: Predicate | None, negate: bool) -> Predicate:
        """`[NOT] EXISTS (the outer row's own matching rows)`, found through the owner's
        index: a few rows per outer row, so linear in the org whatever the predicate."""
        criteria = [self.owner == self.outer.c.id]
        if predicate is not None:
            criteria.append(predicate)
        found = select(_ONE).select_from(self.source).where(*criteria).exists()
        return ~found if negate else found

    @cached_property
    def _joined(self) -> FromClause:
        return self.source.join(self.twin, self.twin.c.id == self.owner)

    def _correlated(self, predicate: Predicate | None, negate: bool) -> Predicate:
        """The test for a caller that does not name the org: correlated with the outer row's
        org. Fast when `predicate` finds few rows through an index (`emails.value eq`);
        otherwise SQLite runs it once per outer row."""
        # org_id = the outer org_id makes the child's (org_id, …) index usable.
        criteria = [self.owner.table.c.org_id == self.outer.c.org_id]
        if predicate is not None:
            criteria.append(predicate)
        seqs = select(self.twin.c.seq).select_from(self._joined).where(*criteria)
        found = select(_ONE).select_from(self.source)
        found = found.where(self.owner == self.outer.c.id, *criteria)
        if negate:
            return PerEngine(self.outer.c.seq.not_in(seqs), ~found.exists())
        return PerEngine(self.outer.c.seq.in_(seqs), found.exists())


class JsonArray:
    """Values kept as a JSON array in the document; read one row per element."""

    def __init__(self, document: ColumnElement[Any], attribute: Attribute) -> None:
        self.document = document
        self.attribute = attribute
        self.rows = ArrayElements(document, attribute.name).table_valued(column("value", Document))

    def value(self, sub: Attribute) -> Scalar | None:
        if not _stored(sub):
            return None
        label = f"{self.attribute.name}.{sub.name}"
        return Scalar(sub, label, _json_value(self.rows.c.value, (sub.name,), sub))

    @property
    def key(self) -> str:
        return self.attribute.name

    def any(
        self,
        predicate: Predicate | None,
        negate: bool,
        org: Org,
        *,
        lookup: bool = False,
        join: bool = True,
    ) -> Predicate:
        """Whether some element satisfies `predicate` (none does, when `negate`): read from
        each outer row's own document, so it costs that document's size per row."""
        query = select(_ONE).select_from(self.rows)
        found = (query if predicate is None else query.where(predicate)).exists()
        return ~found if negate else found


Elements: TypeAlias = Rows | JsonArray


@cache
def _json_array(document: ColumnElement[Any], attribute: Attribute) -> JsonArray:
    """One reader per array: tests on the same array can then be merged into one."""
    return JsonArray(document, attribute)


@dataclass(frozen=True)
class Collection:
    """A multi-valued attribute (and the sub-attribute named): row tables, else the document."""

    attribute: Attribute
    sub: Attribute | None
    rows: tuple[Rows, ...]
    document: ColumnElement[Any] | None

    def elements(self, subs: Many[Attribute]) -> Elements:
        """The first place that holds every one of `subs`."""
        for rows in self.rows:
            if all(rows.value(sub) is not None for sub in subs):
                return rows
        if self.document is not None and _stored(self.attribute):
            array = _json_array(self.document, self.attribute)
            if all(array.value(sub) is not None for sub in subs):
                return array
        missing = [sub.name for sub in subs if all(r.value(sub) is None for r in self.rows)]
        raise unfilterable(".".join([self.attribute.name, *missing[:1]]))

    def value_sub(self) -> Attribute:
        sub = self.attribute.sub("value")
        if sub is None:
            raise InvalidFilter(
                f"{self.attribute.name} has no value: compare one of its sub-attributes"
            )
        return sub


@dataclass(frozen=True, slots=True)
class Complex:
    """A single-valued complex attribute (`name`, `manager`) named without a sub-attribute."""

    storage: Storage
    schema: Schema | None
    attribute: Attribute

    def parts(self) -> list[Scalar]:
        subs = self.attribute.sub_attributes
        found = (_scalar(self.storage, self.schema, self.attribute, sub) for sub in subs)
        return [part for part in found if part is not None]

    def value(self) -> Scalar:
        """RFC 7644 §3.4.2.2 compares a complex attribute by its `value` (`manager`)."""
        sub = self.attribute.sub("value")
        part = None if sub is None else _scalar(self.storage, self.schema, self.attribute, sub)
        if part is None:
            names = ", ".join(p.label for p in self.parts())
            raise InvalidFilter(f"{self.attribute.name} is complex: compare one of {names}")
        return part


Target: TypeAlias = Scalar | Collection | Complex


@dataclass(frozen=True)
class Storage:
    """How one resource type is stored: columns, row tables, and the JSON document."""

    resource: ResourceType
    columns: Mapping[str, _Stored]
    rows: Mapping[str, tuple[Rows, ...]]
    document: ColumnElement[Any] | None
    sort_keys: Mapping[str, ColumnElement[Any]]


_EMAIL_ROWS = Rows(
    "emails",
    members,
    member_emails,
    member_emails.c.member_id,
    {
        "value": (member_emails.c.value_key, True),
        "type": (member_emails.c.type, False),
        "primary": (member_emails.c.primary, False),
    },
    frozenset({"value"}),
)
_GROUP_ROWS = Rows(
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
    frozenset({"value", "display"}),
)
_MEMBER_ROWS = Rows(
    "members",
    groups,
    group_members,
    group_members.c.group_id,
    {"value": (group_members.c.member_id, False), "type": (literal("user"), True)},
    frozenset({"value"}),
    org_indexed=False,
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
    rows: Mapping[str, tuple[Rows, ...]],
    document: ColumnElement[Any] | None,
    sort_keys: Mapping[str, ColumnElement[Any]],
) -> Storage:
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
    return Storage(resource, columns, rows, document, {**sortable, **timestamps, **sort_keys})


STORAGE = {
    USER.name: _storage(
        USER,
        members,
        {
            **{stored.path: filter_column(stored.path) for stored in USER_COLUMNS},
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


def unfilterable(label: str) -> InvalidFilter:
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
    storage: Storage, schema: Schema | None, attribute: Attribute, sub: Attribute | None
) -> Scalar | None:
    """A single value: a column, else the document's; None when it is not stored."""
    target = sub or attribute
    label = attribute.name if sub is None else f"{attribute.name}.{sub.name}"
    stored = storage.columns.get(label)
    if stored is not None:
        return Scalar(target, label, *stored)
    if storage.document is None or not (_stored(attribute) and _stored(target)):
        return None
    keys = (attribute.name,) if sub is None else (attribute.name, sub.name)
    if schema is not None and schema is not storage.resource.schema:
        keys = (schema.id, *keys)
    return Scalar(target, label, _json_value(storage.document, keys, target))


def resolve(storage: Storage, path: AttrPath) -> Target:
    schema, attribute = _attribute(storage.resource, path)
    sub = _sub_attribute(attribute, path)
    if attribute.multi_valued:
        rows = storage.rows.get(attribute.name, ())
        return Collection(attribute, sub, rows, storage.document)
    if attribute.type is AttrType.COMPLEX and sub is None:
        return Complex(storage, schema, attribute)
    found = _scalar(storage, schema, attribute, sub)
    if found is None:
        raise unfilterable(str(path))
    return found


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
    target = resolve(STORAGE[resource_name], path)
    if not (
        isinstance(target, Scalar)
        and target.label in _SORTABLE
        and isinstance(target.expr, Column)
        and target.attribute.type in STRINGS
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
    storage = STORAGE[resource.name]
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


def storage_of(resource: ResourceType) -> Storage:
    return STORAGE[resource.name]
