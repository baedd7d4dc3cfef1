"""PostgreSQL connections that spend few round trips per transaction.

On a real network each round trip costs 0.3-1 ms, more than the Python of a request, so:

- No ping when a connection leaves the pool (SQLAlchemy's `pool_pre_ping` is a round trip
  per transaction). A connection the server dropped while it sat in the pool has a socket
  that is readable (the server's goodbye, or end of file) although nothing was asked: a
  zero-timeout poll sees that without sending anything, and the pool replaces it. A
  connection that dies later fails its transaction like any other network error.
- The transaction runs in psycopg's pipeline mode, with `BEGIN` issued here rather than by
  psycopg (which waits for its answer): statements whose results nobody reads yet (`send`
  in `storage.prepared`: audit entries, events, log entries) travel with the next statement
  whose result is read, and the last of them with `COMMIT`. A statement run through
  SQLAlchemy is synced at once (SQLAlchemy reads its result straight away).
- Transactions end with `COMMIT`, reads included: psycopg answers a `ROLLBACK` by discarding
  every prepared statement of the connection (`DEALLOCATE ALL`), so a read that rolled back
  threw away what the next request would have reused.

The driver connection runs in autocommit mode; every SQLAlchemy transaction begins in
`_on_begin`, so nothing runs outside one.
"""

from __future__ import annotations

import select
from contextlib import suppress
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

#: Execution option of the transactions that run pipelined (`Database.read` and `write`).
PIPELINED = "scimitar_pipelined"
#: Where a pipelined transaction keeps its psycopg pipeline (the pool entry's `info`).
PIPELINE = "scimitar_pipeline"


def install(engine: Engine) -> None:
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "checkout", _on_checkout)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _on_rollback)
    event.listen(engine, "after_cursor_execute", _on_after_cursor_execute)


def pipeline_of(conn: Connection) -> Any:
    """The psycopg pipeline of a pipelined transaction on `conn`, else None."""
    return conn.connection.info.get(PIPELINE)


def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.autocommit = True


def _on_checkout(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    # An idle connection has nothing to read unless the server said goodbye (or sent a
    # notice); either way it is not fit for a transaction. (poll: select() refuses
    # descriptors past 1023, which a busy server reaches.)
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection while it was idle")


def _on_begin(conn: Connection) -> None:
    dbapi: Any = conn.connection.dbapi_connection
    if conn.get_execution_options().get(PIPELINED):
        block = dbapi.pipeline()
        pipeline = block.__enter__()
        pipeline.block = block  # what leaves pipeline mode (`_leave`)
        conn.connection.info[PIPELINE] = pipeline
        dbapi.execute("BEGIN")  # queued: it travels with the first statement
        return
    _run(dbapi, "BEGIN")


def _on_commit(conn: Connection) -> None:
    dbapi: Any = conn.connection.dbapi_connection
    pipeline = conn.connection.info.pop(PIPELINE, None)
    if pipeline is None:
        _run(dbapi, "COMMIT")
        return
    try:
        dbapi.execute("COMMIT")
        # Sends whatever is queued with the COMMIT and reads every answer: the first error
        # of any queued statement is raised here, and the transaction is then not committed.
        _leave(pipeline)
    except psycopg.Error as exc:
        raise _wrapped(conn, "COMMIT", exc) from exc


def _on_rollback(conn: Connection) -> None:
    pipeline = conn.connection.info.pop(PIPELINE, None)
    if pipeline is not None:
        # Out of pipeline mode; an error of a queued statement is why we roll back.
        with suppress(psycopg.Error):
            _leave(pipeline)
    # psycopg's rollback (called next by SQLAlchemy) sends ROLLBACK if a transaction is open.


def _on_after_cursor_execute(
    conn: Connection, cursor: Any, _statement: str, _parameters: Any, _context: Any, _many: bool
) -> None:
    pipeline = conn.connection.info.get(PIPELINE)
    if pipeline is not None:
        pipeline.sync()  # SQLAlchemy reads the result (or its absence) right after this


def _leave(pipeline: Any) -> None:
    pipeline.block.__exit__(None, None, None)


def _run(dbapi: Any, statement: str) -> None:
    try:
        dbapi.execute(statement)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, (), exc, psycopg.Error) from exc


def _wrapped(conn: Connection, statement: str, exc: Exception) -> Exception:
    return DBAPIError.instance(
        statement,
        (),
        exc,
        psycopg.Error,
        hide_parameters=True,
        dialect=conn.dialect,
        connection_invalidated=False,
    )
