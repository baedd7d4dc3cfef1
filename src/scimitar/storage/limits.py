"""What the databases refuse, refused the same way on both before a statement runs.

PostgreSQL refuses a NUL character in text and JSON and truncation of a `varchar(n)`;
SQLite stores both. Neither driver can send a lone surrogate (not UTF-8). Rather than a
database error that differs by engine (a 500 on one, a stored row on the other), every
statement's values are checked here, against the column each lands in, and a
`ValueRefused` names what was refused. The length limits are read from the tables
(`storage.tables`), so they cannot drift from the schema.

The check runs for statements executed through SQLAlchemy (an engine event, see
`guard_engine`) and for `storage.prepared` statements (`check_parameters`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import Column, Engine, String, Table, event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update

#: Characters no database stores as text: NUL (PostgreSQL) and lone surrogates (not UTF-8).
_REFUSED = re.compile("[\x00\ud800-\udfff]")
_CHARACTER_NAMES = {"\x00": "a NUL character (U+0000)"}
#: Tables whose columns answer to a name of their own in the APIs (`member_emails.type` is
#: a SCIM user's `emails.type`).
_TABLE_PREFIXES = {"member_emails": "emails."}
_COLUMN_NAMES = {"given_name": "name.givenName", "family_name": "name.familyName"}
_KEY_SUFFIX = re.compile(r"(_key)?(_\d+)?$")


class ValueRefused(ValueError):
    """Raised before a statement runs when a value cannot be stored (or matched) alike on
    both engines: a character no database stores, or text longer than its column."""

    def __init__(self, name: str, reason: str, *, writing: bool) -> None:
        super().__init__(f"{name} {reason}")
        self.name = name
        self.reason = reason
        #: Whether the value was to be stored (else it was a lookup's: nothing can match it).
        self.writing = writing
        self.detail = f"{name!r} {reason}" if writing else f"{name!r} {reason} and matches nothing"


def refused_character(text: str) -> str | None:
    """The first character in `text` that no database stores, if any."""
    if text.isascii() and "\x00" not in text:
        return None
    found = _REFUSED.search(text)
    return found.group() if found else None


def describe_character(char: str) -> str:
    return _CHARACTER_NAMES.get(char, f"a lone surrogate (U+{ord(char):04X})")


def storable(text: str, limit: int | None = None) -> str:
    """`text` made storable where refusing it is no option (a log of what was sent): refused
    characters replaced by U+FFFD, cut to `limit` characters."""
    if refused_character(text) is not None:
        text = _REFUSED.sub("\ufffd", text)
    return text if limit is None else text[:limit]


def text_limit(column: Column[Any]) -> int | None:
    """The most characters `column` holds, from its type (None: unbounded or not text)."""
    kind = column.type
    return kind.length if isinstance(kind, String) else None


#: The most UTF-8 bytes an indexed text column holds. A PostgreSQL btree entry is at most
#: 2 704 bytes (a third of a page): 900 CJK characters in a userName (2 700 bytes, well
#: under its 2 048 characters) failed there and were stored by SQLite. 2 048 bytes leave
#: room for the index's other columns (an org id) and its overhead.
INDEXED_BYTES = 2048


def byte_limit(column: Column[Any]) -> int | None:
    """The most UTF-8 bytes `column` holds: INDEXED_BYTES if an index or a unique
    constraint of its table covers it (None: no limit but its length in characters)."""
    if not isinstance(column.type, String) or column.table is None:
        return None
    return INDEXED_BYTES if column.key in _indexed(column.table) else None


def _indexed(table: Any) -> set[str]:
    names: set[str] = set()
    for index in table.indexes:
        names |= {c.key for c in index.columns}
    for constraint in table.constraints:
        names |= {c.key for c in getattr(constraint, "columns", ())}
    return names


def public_name(table: str, column: str) -> str:
    """The name a column's value goes by in the APIs (`user_name_key` → `userName`)."""
    base = _KEY_SUFFIX.sub("", column)
    if base in _COLUMN_NAMES:
        return _COLUMN_NAMES[base]
    head, *rest = base.split("_")
    return _TABLE_PREFIXES.get(table, "") + head + "".join(word.title() for word in rest)


def _refused_in(value: Any, path: str) -> tuple[str, str] | None:
    """(where, which character) of the first refused character in a value or JSON document."""
    if isinstance(value, str):
        char = refused_character(value)
        return (path, char) if char is not None else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = _refused_in(key, inner) or _refused_in(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = _refused_in(item, path)
            if found is not None:
                return found
    return None


def check_value(
    value: Any, name: str, *, limit: int | None, writing: bool, byte_limit: int | None = None
) -> None:
    """Refuse `value` (called `name`) if a database would: `ValueRefused`."""
    if value is None or isinstance(value, bool | int | float):
        return
    found = _refused_in(value, "")
    if found is not None:
        where, char = found
        # Inside a document: name the attribute, not the column that holds the document.
        named = where if where and isinstance(value, Mapping | list | tuple) else name
        raise ValueRefused(named, f"contains {describe_character(char)}", writing=writing)
    if limit is not None and writing and isinstance(value, str) and len(value) > limit:
        raise ValueRefused(name, f"is longer than {limit} characters", writing=writing)
    too_big = byte_limit is not None and isinstance(value, str) and len(value.encode()) > byte_limit
    if writing and too_big:
        raise ValueRefused(name, f"is longer than {byte_limit} bytes in UTF-8", writing=writing)


def check_parameters(
    table: Table | None,
    rows: Iterable[Mapping[str, Any]],
    columns: Mapping[str, str] | None = None,
) -> None:
    """Check each row of a statement's parameters. `table` is the table an INSERT or UPDATE
    writes (None for a lookup): a parameter named after one of its columns is checked
    against that column. `columns` names the column a lookup's parameter is compared with
    (for the error's wording)."""
    limits = table_limits(table)
    for row in rows:
        for name, value in row.items():
            if not plainly_storable(value, limits.get(name, UNBOUNDED)[2]):
                _check_slowly(table, name, value, limits, columns)


def plainly_storable(value: Any, limit: int | None) -> bool:
    """The common case, cheaply: nothing in `value` to refuse (False: look closely)."""
    kind = value.__class__
    if value is None or kind is bool or kind is int or kind is float:
        return True
    if kind is str:
        if value.isascii():
            return "\x00" not in value and (limit is None or len(value) <= limit)
        # Not ASCII (a key's label "SCIM key …abcd" on every audit entry and event): no
        # refused character, and within the limit even counted in UTF-8 bytes (never fewer
        # than the characters), else the close look decides.
        return _REFUSED.search(value) is None and (limit is None or len(value.encode()) <= limit)
    if kind is dict or kind is list:
        try:  # what the JSON column will store; NUL shows as an escape
            return b"\\u0000" not in orjson.dumps(value)
        except orjson.JSONEncodeError:  # e.g. a lone surrogate
            return False
    return True  # datetimes, bytes: nothing a database refuses


def plainly_storable_json(text: str) -> bool:
    """Whether a serialized JSON document is plainly storable: a NUL shows as an escape (a
    lone surrogate does not serialize at all)."""
    return "\\u0000" not in text


def _check_slowly(
    table: Table | None,
    name: str,
    value: Any,
    limits: Mapping[str, _Limit],
    columns: Mapping[str, str] | None,
) -> None:
    if name in limits:
        assert table is not None
        characters, size, _ = limits[name]
        label = public_name(table.name, name)
        check_value(value, label, limit=characters, writing=True, byte_limit=size)
    else:  # compared with, not written (an UPDATE's WHERE, a SELECT)
        label = public_name("", (columns or {}).get(name, name))
        check_value(value, label, limit=None, writing=False)


#: Per column: characters, UTF-8 bytes, and the most characters an ASCII value may have.
_Limit = tuple[int | None, int | None, int | None]
UNBOUNDED: _Limit = (None, None, None)
_LIMITS: dict[Table, dict[str, _Limit]] = {}


def table_limits(table: Table | None) -> dict[str, _Limit]:
    """The limits of each column of `table` (none for None: a statement that writes none)."""
    if table is None:
        return {}
    found = _LIMITS.get(table)
    if found is None:
        found = _LIMITS[table] = {column.key: _limit(column) for column in table.c}
    return found


def _limit(column: Column[Any]) -> _Limit:
    characters, size = text_limit(column), byte_limit(column)
    bounds = [bound for bound in (characters, size) if bound is not None]
    return characters, size, min(bounds) if bounds else None


def written_table(statement: Any) -> Table | None:
    """The table an INSERT or UPDATE writes, None for any other statement."""
    if isinstance(statement, Insert | Update) and isinstance(statement.table, Table):
        return statement.table
    return None


def _before_cursor_execute(
    _conn: Connection,
    _cursor: Any,
    _statement: str,
    _parameters: Any,
    context: ExecutionContext,
    _executemany: bool,
) -> None:
    compiled = getattr(context, "compiled", None)
    if not isinstance(compiled, SQLCompiler) or getattr(context, "_scimitar_checked", False):
        return
    # An INSERT of many rows runs in batches, each through this event: check them once.
    context._scimitar_checked = True  # type: ignore[attr-defined]
    rows: list[Mapping[str, Any]] = getattr(context, "compiled_parameters", None) or []
    if rows:
        table = written_table(compiled.statement)
        columns = {name: _bound_column(compiled, name) for name in rows[0]}
        check_parameters(table, rows, columns)


def _bound_column(compiled: SQLCompiler, name: str) -> str:
    """The column a lookup's parameter is compared with, as best known."""
    bind = compiled.binds.get(name)
    original = getattr(bind, "_orig_key", None)
    return original if isinstance(original, str) and original != "param" else name


def guard_engine(engine: Engine) -> None:
    """Check every statement the engine runs (see the module's docstring)."""
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
