"""SQL building blocks for filters, one rendering per engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, FromClause, String, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import Function, GenericFunction
from sqlalchemy.sql.visitors import InternalTraversal

from scimitar.storage.folding import SQLITE_FOLD

__all__ = ["ArrayElements", "PerEngine", "code_points", "fold"]


class ArrayElements(GenericFunction[Any]):
    """One row (`value`) per element of the JSON array under a top-level key of a document."""

    _register = False
    inherit_cache = True
    name = "json_each"

    def __init__(self, document: ColumnElement[Any], key: str) -> None:
        # Both engines' spellings of the key are bound; each engine renders its own.
        super().__init__(document, literal(f'$."{key}"'), literal(key))


@compiles(ArrayElements)
def _array_elements(element: ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    document, path, _ = element.clauses.clauses
    return f"json_each({compiler.process(document, **kw)}, {compiler.process(path, **kw)})"


@compiles(ArrayElements, "postgresql")
def _array_elements_postgresql(element: ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    document, _, key = element.clauses.clauses
    inner = f"{compiler.process(document, **kw)} -> {compiler.process(key, **kw)}"
    return f"jsonb_array_elements({inner})"


class PerEngine(ColumnElement[Any]):
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
        self._is_implicitly_boolean = sqlite._is_implicitly_boolean or isinstance(
            sqlite.type, Boolean
        )

    @property
    def _from_objects(self) -> list[FromClause]:
        return self.sqlite._from_objects


@compiles(PerEngine)
def _per_engine(element: PerEngine, compiler: SQLCompiler, **kw: Any) -> str:
    chosen = element.postgresql if compiler.dialect.name == "postgresql" else element.sqlite
    return compiler.process(chosen, **kw)


def fold(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """The caseExact=false form of a string, `str.lower`, computed in SQL."""
    sqlite = Function(SQLITE_FOLD, expr, type_=String())
    return PerEngine(sqlite, func.lower(expr.collate("und-x-icu")))


def code_points(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """A string that orders by code point, as SQLite's BINARY collation does."""
    return PerEngine(expr, expr.collate("C"))
