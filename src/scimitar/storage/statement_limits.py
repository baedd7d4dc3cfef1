"""The statement time limit (`SCIMITAR_STATEMENT_TIMEOUT_MS`): SQLite's half, and how a
statement stopped by it is recognised on either engine.

PostgreSQL enforces `statement_timeout` itself (set per connection by `Database`); SQLite
has no such setting, so its connections check the clock from a progress handler.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

__all__ = [
    "TOO_SLOW",
    "TimedConnection",
    "statement_timed_out",
    "without_statement_limit",
]

TOO_SLOW = (
    "The query ran past the statement time limit (SCIMITAR_STATEMENT_TIMEOUT_MS) and was "
    "stopped; narrow the filter, or retry later"
)


def statement_timed_out(error: BaseException) -> bool:
    """Whether `error` is a statement stopped at the statement time limit (SQLite's progress
    handler, PostgreSQL's `statement_timeout`). Answered 503, never 500; the connection
    stays usable once its transaction is rolled back."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.orig
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause) == "interrupted"
    return getattr(cause, "sqlstate", None) == _QUERY_CANCELED


_QUERY_CANCELED = "57014"


class TimedConnection(sqlite3.Connection):
    """A SQLite connection whose statements stop after `limit_statements` seconds: a
    progress handler reads the clock every `STEPS` virtual-machine steps (about a tenth of
    a millisecond) and interrupts a statement past its deadline. The clock starts for each
    statement where one begins: a new cursor (SQLAlchemy and `Prepared` make one per
    statement) or a statement run on the connection itself."""

    _limit = 0.0
    _deadline = float("inf")

    def limit_statements(self, seconds: float) -> None:
        self._limit = seconds
        self.set_progress_handler(self._past_deadline if seconds > 0 else None, STEPS)

    def _past_deadline(self) -> bool:
        return monotonic() > self._deadline

    # The clock restarts where a statement begins; inline, no helper: this runs for every
    # statement, point reads included.
    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        self._deadline = monotonic() + self._limit
        return _cursor(self, *args, **kwargs)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._deadline = monotonic() + self._limit
        return _execute(self, *args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._deadline = monotonic() + self._limit
        return _executemany(self, *args, **kwargs)


_cursor = sqlite3.Connection.cursor
_execute = sqlite3.Connection.execute
_executemany = sqlite3.Connection.executemany
STEPS = 10_000


@contextmanager
def without_statement_limit(conn: Connection) -> Iterator[None]:
    """No time limit for this transaction's statements (migrations may rebuild a table)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        yield
        return
    dbapi: Any = conn.connection.dbapi_connection
    if not isinstance(dbapi, TimedConnection):
        yield
        return
    limit = dbapi._limit
    dbapi.limit_statements(0)
    try:
        yield
    finally:
        dbapi.limit_statements(limit)
