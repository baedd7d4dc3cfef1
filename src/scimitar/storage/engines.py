"""What differs between SQLite and PostgreSQL, behind functions the domain calls without
asking which engine it runs on.

PostgreSQL runs writers concurrently (READ COMMITTED), so read-check-write paths lock the
rows they depend on. SQLite has one writer at a time (`BEGIN IMMEDIATE`): a write
transaction already sees no concurrent change, and its row-lock clauses do not exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
