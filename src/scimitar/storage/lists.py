"""`column IN <a list given as one parameter>`, for statements that look up many values.

An expanding `IN` parameter makes SQLAlchemy render a new statement per list length, with a
placeholder per value (the database parses it again each time, and the same list used in
four branches of a union is four times the placeholders). Here the list travels as one JSON
text parameter, which each engine unpacks itself: `json_each` on SQLite,
`jsonb_array_elements_text` on PostgreSQL. The statement's text never changes, so it is
compiled once and cached like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType


class InList(ColumnElement[Any]):
    """`column IN (the strings of the JSON array in parameter `name`)`."""

    # Not Boolean: SQLite would compare a Boolean expression with 1, which hides the index.
    type = NullType()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
        ("probe", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column: ColumnElement[Any], name: str, *, probe: bool = True) -> None:
        self.column = column
        self.values: BindParameter[str] = bindparam(name)
        self.probe = probe


def in_list(column: ColumnElement[Any], name: str, *, probe: bool = True) -> InList:
    """`probe=False`: the list only filters rows found otherwise; SQLite is told not to
    look each listed value up in an index of `column` (a long list of groups, say, would be
    probed once per group for every member, rather than each member's few groups checked
    against it)."""
    return InList(column, name, probe=probe)


def list_value(values: Iterable[str]) -> str:
    """The parameter value of an `in_list`."""
    return orjson.dumps(list(values)).decode()


@compiles(InList, "sqlite")
def _sqlite(element: InList, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    values = compiler.process(element.values, **kw)
    # Both parts are compiled SQL (a column and a placeholder), never a value.
    # A unary `+` keeps SQLite from using an index of the column for the list.
    plus = "" if element.probe else "+"
    return f"{plus}{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608


@compiles(InList, "postgresql")
def _postgresql(element: InList, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    values = compiler.process(element.values, **kw)
    unpacked = f"SELECT jsonb_array_elements_text(CAST({values} AS jsonb))"
    if not element.probe:
        # Only a filter: `IN (subquery)` is hashed once, each row then checked in O(1);
        # `= ANY(array)` outside an index condition compares with every element in turn.
        return f"{column} IN ({unpacked})"
    # `= ANY(ARRAY(…))`: the list is unpacked once (an init plan) and compared as an array,
    # which index scans take as a list of keys to probe.
    return f"{column} = ANY(ARRAY({unpacked}))"
