"""What differs between SQLite and PostgreSQL, behind functions the domain calls without
asking which engine it runs on.

PostgreSQL runs writers concurrently (READ COMMITTED), so read-check-write paths lock the
rows they depend on. SQLite has one writer at a time (`BEGIN IMMEDIATE`): a write
transaction already sees no concurrent change, and its row-lock clauses do not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Connection, Select, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ClauseElement

from scimitar.storage.prepared import Driver, Prepared

S = TypeVar("S", bound=Select[Any])


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def serialises_writers(conn: Connection) -> bool:
    """True when one write transaction at a time runs (SQLite): nothing to lock against."""
    return not is_postgresql(conn)


def share_locked(conn: Connection, query: S) -> S:
    """`query` holding a share lock on the rows it reads until the transaction ends (a
    concurrent change of them waits), where writers run concurrently."""
    return query.with_for_update(read=True) if is_postgresql(conn) else query


def lock_row(conn: Connection, table: Table, row_id: str) -> None:
    """Lock one row by id for update until the transaction ends, where writers run
    concurrently."""
    if is_postgresql(conn):
        conn.execute(select(table.c.id).where(table.c.id == row_id).with_for_update())


def claimable(conn: Connection, query: S, table: Table) -> S:
    """`query` locking `table`'s rows it returns and skipping rows another transaction
    holds, so that concurrent workers claim disjoint work (one writer needs no claim)."""
    if is_postgresql(conn):
        return query.with_for_update(skip_locked=True, of=table)
    return query


def insert_if_absent(conn: Connection, table: Table, key: str, **values: Any) -> None:
    """Insert a row unless one with the same `key` exists (no error, no change then)."""
    insert = pg_insert if is_postgresql(conn) else sqlite_insert
    conn.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=[key]))


class PreparedCounterAdd:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET column = column + :count`: adds `count` to
    a counter row, creating it at `initial` when absent, in one statement that returns
    nothing (so, in a pipelined transaction, no round trip of its own). Prepared once per
    engine: each has its own upsert construct."""

    def __init__(self, table: Table, key: str, column: str) -> None:
        def build(construct: Any) -> Prepared:
            statement = construct(table).values({key: bindparam(key), column: bindparam("initial")})
            return Prepared(
                statement.on_conflict_do_update(
                    index_elements=[key], set_={column: table.c[column] + bindparam("count")}
                )
            )

        self._by_engine = {"postgresql": build(pg_insert), "sqlite": build(sqlite_insert)}

    def send(self, db: Driver, values: Mapping[str, Any]) -> None:
        self._by_engine[db.dialect.name].send(db, values)


def serial_just_inserted(column: Column[Any]) -> ColumnElement[Any]:
    """PostgreSQL: the value this session's last insert drew for a serial `column` (its
    sequence's `currval`), to link rows to a row whose id was never read back."""
    sequence = func.pg_get_serial_sequence(column.table.name, column.name)
    return func.currval(sequence)


class PreparedPerEngine:
    """A statement written with an engine's own construct (an upsert), prepared for each."""

    def __init__(self, build: Callable[[Any], ClauseElement]) -> None:
        self._by_engine = {
            "postgresql": Prepared(build(pg_insert)),
            "sqlite": Prepared(build(sqlite_insert)),
        }

    def first(self, db: Driver, values: Mapping[str, Any]) -> Any:
        return self._by_engine[db.dialect.name].first(db, values)


def prepared_insert_unless_taken(
    table: Table, conflict: Sequence[str], *, exclude: Collection[str], returning: Column[Any]
) -> PreparedPerEngine:
    """`INSERT … ON CONFLICT (conflict…) DO NOTHING RETURNING returning`: `first` is None
    when the row's key is taken (the transaction stays usable, unlike after an error), each
    value a parameter named after its column."""
    names = [c.key for c in table.c if c.key not in exclude]

    def build(construct: Any) -> ClauseElement:
        statement = construct(table).values({name: bindparam(name) for name in names})
        upsert: ClauseElement = statement.on_conflict_do_nothing(index_elements=list(conflict))
        return upsert.returning(returning)  # type: ignore[attr-defined,no-any-return]

    return PreparedPerEngine(build)
