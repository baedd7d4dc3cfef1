"""Hot statements: compiled once per dialect by SQLAlchemy, run on the driver's cursor.

SQLAlchemy writes the SQL and knows how each column's values convert; what it costs per
execution (statement caching, execution context, result wrapping: 50-150 µs a statement on
SQLite) is most of what a point read or a bookkeeping insert costs. A `Prepared` statement
keeps the SQL and the conversions and skips the rest (a few µs a statement), so the few
statements every SCIM request runs are cheap on both engines.

Rules for a statement to be prepared: no expanding (`IN`) parameters, every parameter a
`bindparam` (or an insert's column), and selected columns with distinct names.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, Connection, Dialect, Table, bindparam, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from scimitar.storage.limits import (
    UNBOUNDED,
    check_parameters,
    plainly_storable,
    plainly_storable_json,
    table_limits,
    written_table,
)
from scimitar.storage.postgres import PIPELINE

Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Driver:
    """A driver (DBAPI) connection and the dialect that compiles statements for it."""

    connection: Any
    dialect: Dialect
    #: psycopg's pipeline when the transaction runs pipelined (`storage.postgres`): results
    #: then arrive when read, and `send` needs no round trip of its own.
    pipeline: Any = None


def driver(conn: Connection) -> Driver:
    """The driver connection under a SQLAlchemy connection, in its current transaction."""
    proxied = conn.connection
    return Driver(proxied.dbapi_connection, conn.dialect, proxied.info.get(PIPELINE))


def pipelined(conn: Connection) -> bool:
    """Whether statements sent on `conn` wait for the next one whose result is read."""
    return PIPELINE in conn.connection.info


_MISSING = object()


class _Compiled:
    __slots__ = (
        "binds",
        "converting",
        "defaults",
        "names",
        "plan",
        "positional",
        "results",
        "row",
        "sql",
        "table",
    )

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql: str = compiled.string
        self.positional = bool(compiled.positional)
        self.names: list[str] = list(
            compiled.positiontup if compiled.positional else compiled.binds  # type: ignore[arg-type]
        )
        #: The table an INSERT or UPDATE writes: its columns' limits apply (`storage.limits`).
        self.table = written_table(statement)
        self.binds: dict[str, Converter] = {}
        self.defaults: dict[str, Any] = {}
        for name in self.names:
            bind = compiled.binds[name]
            converter = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if converter is not None:
                self.binds[name] = converter
            if not bind.required:
                self.defaults[name] = bind.effective_value
        # What a SELECT selects or an INSERT/UPDATE … RETURNING returns.
        columns = list(getattr(statement, "exported_columns", ()))
        self.results: list[Converter | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        #: Each parameter with its converter and the most characters an ASCII value of it
        #: may have (`storage.limits`); each result column that has a converter.
        limits = table_limits(self.table)
        self.plan = [
            (name, self.binds.get(name), limits.get(name, UNBOUNDED)[2]) for name in self.names
        ]
        self.converting = [(i, c) for i, c in enumerate(self.results) if c is not None]
        names = [column.key for column in columns]
        self.row: Any = namedtuple("Row", names, rename=True) if names else None

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        return self.for_driver(self.converted(values))

    def converted(
        self, values: Mapping[str, Any], previous: tuple[Mapping[str, Any], list[Any]] | None = None
    ) -> list[Any]:
        """The values converted for the driver, in the statement's order, once checked
        (`storage.limits`: `ValueRefused`). `previous` (a row of the same batch and its
        converted values): a value that is the very object it had there is not converted
        again (the `at` of 100 events)."""
        defaults = self.defaults
        converted: list[Any] = []
        doubtful = False
        for index, (name, convert, limit) in enumerate(self.plan):
            value = values.get(name, _MISSING)
            if value is _MISSING:
                value = defaults[name]  # KeyError: a parameter nobody gave
            if previous is not None and previous[0].get(name, _MISSING) is value:
                converted.append(previous[1][index])
                continue
            if convert is None:
                doubtful = doubtful or not plainly_storable(value, limit)
                converted.append(value)
                continue
            kind = value.__class__
            if kind is dict or kind is list:
                # A JSON document: checked in the text it is stored as (serialized once).
                try:
                    # Converters take None too: a JSON column stores it as JSON null, as
                    # SQLAlchemy does.
                    out = convert(value)
                except (TypeError, ValueError):  # e.g. a lone surrogate: the check names it
                    out = None
                if out.__class__ is str:
                    doubtful = doubtful or not plainly_storable_json(out)
                else:
                    doubtful = doubtful or not plainly_storable(value, limit)
                converted.append(out)
                continue
            doubtful = doubtful or not plainly_storable(value, limit)
            converted.append(convert(value))
        if doubtful:  # the close look: raises as for any statement, or converts as usual
            check_parameters(self.table, (values,))
            converted = [
                value if convert is None else convert(value)
                for (_name, convert, _limit), value in zip(
                    self.plan, self._values(values), strict=True
                )
            ]
        return converted

    def _values(self, values: Mapping[str, Any]) -> list[Any]:
        return [values.get(name, self.defaults.get(name)) for name in self.names]

    def for_driver(self, converted: list[Any]) -> Sequence[Any] | dict[str, Any]:
        return converted if self.positional else dict(zip(self.names, converted, strict=True))

    def convert(self, row: Sequence[Any]) -> Any:
        if not self.converting:
            return self.row._make(row)
        values = list(row)
        for index, convert in self.converting:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        return self.row._make(values)


class Prepared:
    """One statement, ready to run on a `Driver` (of a SQLAlchemy connection or a raw one)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        # Per dialect object: each engine's dialect carries its own settings (JSON
        # serializer, parameter style); weakly, so a disposed engine's entry goes with it.
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = _Compiled(self.statement, dialect)
        return compiled

    def _executed(self, db: Driver, values: Mapping[str, Any] | None) -> tuple[_Compiled, Any, Any]:
        """The statement executed on a cursor of its own (a driver error raised as SQLAlchemy
        raises it, the cursor closed), with the parameters it was sent (for a later error's
        message, where they show as hidden); the caller reads and closes the cursor."""
        compiled = self._for(db.dialect)
        parameters = compiled.parameters(values or {})
        cursor = db.connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
        except db.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _wrapped(db, compiled.sql, parameters, exc) from exc
        return compiled, cursor, parameters

    def _rows(
        self, db: Driver, compiled: _Compiled, cursor: Any, parameters: Any, *, plain: bool = False
    ) -> list[Any]:
        try:
            rows = cursor.fetchall()
            return rows if plain else list(map(compiled.convert, rows))
        except db.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(db, compiled.sql, parameters, exc) from exc
        finally:
            cursor.close()

    def all(self, db: Driver, values: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row, as named tuples with converted values."""
        return self._rows(db, *self._executed(db, values))

    def tuples(self, db: Driver, values: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row as the driver's plain tuple, in the statement's column order: for a
        statement read by position, many rows at a time (no named tuple made per row). Its
        columns must need no conversion."""
        if self._for(db.dialect).converting:
            raise TypeError("a column of this statement needs its converter: use `all`")
        return self._rows(db, *self._executed(db, values), plain=True)

    def first(self, db: Driver, values: Mapping[str, Any] | None = None) -> Any:
        rows = self.all(db, values)
        return rows[0] if rows else None

    def later(self, db: Driver, values: Mapping[str, Any] | None = None) -> Callable[[], list[Any]]:
        """Send the statement now, read its rows when the returned function is called. In a
        pipelined transaction, statements sent one after another this way share one round
        trip (the server still runs them in order); elsewhere the rows are read at once."""
        if db.pipeline is None:
            rows = self.all(db, values)
            return lambda: rows
        sent = self._executed(db, values)
        return lambda: self._rows(db, *sent)

    def when_read(
        self, db: Driver, values: Mapping[str, Any] | None = None
    ) -> Callable[[], list[Any]]:
        """As `later` in a pipelined transaction (sent now, with the next statement whose
        result is read); elsewhere run only when the returned function is first called, and
        not at all if it never is: for rows a caller may not need (a deactivated member's
        groups, never rendered). The rows are as the transaction had them when sent, or
        when first asked for: for a caller whose own changes in between leave them as they
        are."""
        if db.pipeline is not None:
            return self.later(db, values)
        read: list[list[Any]] = []

        def rows() -> list[Any]:
            if not read:
                read.append(self.all(db, values))
            return read[0]

        return rows

    def run(self, db: Driver, values: Mapping[str, Any] | None = None) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        compiled, cursor, parameters = self._executed(db, values)
        try:
            if db.pipeline is not None:
                db.pipeline.sync()
            return int(cursor.rowcount)
        except db.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(db, compiled.sql, parameters, exc) from exc
        finally:
            cursor.close()

    def send(self, db: Driver, values: Mapping[str, Any] | None = None) -> None:
        """Execute a statement whose result nobody reads. In a pipelined transaction it
        travels with the next statement whose result is read, or with the COMMIT: its error,
        if any, is raised there and fails the transaction."""
        if db.pipeline is None:
            self.run(db, values)
            return
        self._executed(db, values)

    def run_many(self, db: Driver, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set, in one driver call (pipelined: sent like `send`)."""
        compiled = self._for(db.dialect)
        parameters = []
        previous: tuple[Mapping[str, Any], list[Any]] | None = None
        for row in rows:
            converted = compiled.converted(row, previous)
            previous = (row, converted)
            parameters.append(compiled.for_driver(converted))
        cursor = db.connection.cursor()
        try:
            cursor.executemany(compiled.sql, parameters)
        except db.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(db, compiled.sql, parameters, exc) from exc
        finally:
            cursor.close()


def first_as_given(db: Driver, sql: str, values: Sequence[Any]) -> Any:
    """The first row of `sql` (the driver's own text) run with `values` as the driver takes
    them, checked by the caller (`storage.event_rows`)."""
    cursor = db.connection.cursor()
    try:
        cursor.execute(sql, values)
        return cursor.fetchone()
    except db.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(db, sql, values, exc) from exc
    finally:
        cursor.close()


def run_many_as_given(db: Driver, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Execute `sql` (the driver's own text) once per row, in one driver call: each row's
    values already as the driver takes them, in the statement's order, checked by the
    caller (`storage.event_rows`)."""
    cursor = db.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    except db.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(db, sql, rows, exc) from exc
    finally:
        cursor.close()


def _wrapped(db: Driver, sql: str, parameters: Any, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy raises it (`IntegrityError` with `.orig`, …), so
    callers catch the same exceptions whichever way a statement ran."""
    return DBAPIError.instance(
        sql,
        parameters,
        exc,
        db.dialect.loaded_dbapi.Error,
        hide_parameters=True,  # as the engines do: values never reach a log
        dialect=db.dialect,
    )


def prepared_insert(
    table: Table,
    *names: str,
    exclude: Collection[str] = (),
    returning: Column[Any] | None = None,
) -> Prepared:
    """`INSERT INTO table (columns…) [RETURNING column]`, each value a parameter named after
    its column: the columns named, or else every column but those in `exclude` (a serial
    key the database assigns)."""
    names = names or tuple(c.key for c in table.c if c.key not in exclude)
    statement = insert(table).values({name: bindparam(name) for name in names})
    return Prepared(statement if returning is None else statement.returning(returning))
