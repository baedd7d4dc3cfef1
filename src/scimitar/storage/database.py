"""Engines, transactions and migrations for SQLite and PostgreSQL.

SQLite runs in WAL mode with foreign keys on. Its writers take the write lock when they
begin (`BEGIN IMMEDIATE`), so two writers never deadlock on a lock upgrade, and readers
never block. PostgreSQL runs at READ COMMITTED; read-modify-write operations lock the row
they change (`SELECT … FOR UPDATE`, see `lock_for_update`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from importlib import resources
from typing import Any, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from scimitar.storage import postgres
from scimitar.storage.folding import SQLITE_FOLD, sqlite_fold
from scimitar.storage.limits import guard_engine
from scimitar.storage.statement_limits import (
    TOO_SLOW,
    TimedConnection,
    statement_timed_out,
    without_statement_limit,
)
from scimitar.storage.writer_lock import WriterLock, ensure_sqlite_directory

log = logging.getLogger("scimitar")

DEFAULT_URL = "sqlite:///scimitar.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: `SCIMITAR_STATEMENT_TIMEOUT_MS` when unset: longer than any bounded statement takes.
DEFAULT_STATEMENT_TIMEOUT_MS = 5_000
_T = TypeVar("_T")
_WRITE = "scimitar_write"
_EVENT_RUNS = "scimitar_event_runs"
#: The advisory lock key `migrate` holds on PostgreSQL (any constant unique to Scimitar).
MIGRATION_LOCK = 0x5C1_3172
_TRANSACTION_STATE = "scimitar_transaction"


class WriterBusy(Exception):
    """`Database.write(wait=False)`: another writer holds the SQLite writer lock (or this
    process cannot see other processes' writers); nothing was begun."""


class DatabaseUrlError(ValueError):
    """The database URL cannot be used."""


def normalize_url(url: str) -> str:
    """Accept the URL forms people paste (`postgres://`, `postgresql://`) and pick psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    """One engine and the way to open transactions on it."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        background_checkpoints: bool = False,
        statement_timeout_ms: int = 0,
        event_runs: bool = True,
    ) -> None:
        """`background_checkpoints` (SQLite, for a server): commits never checkpoint the
        write-ahead log themselves; a thread does it, off the request path (see
        `_Checkpointer`). `statement_timeout_ms`: a statement running longer is stopped
        with an error `statement_timed_out` recognises (0: no limit). `event_runs` False:
        every event is written as a row of its own, as releases before migration 0011 read
        them (`storage.event_rows`; `SCIMITAR_EVENT_RUNS`)."""
        self.url = normalize_url(url)
        self.statement_timeout_ms = max(0, statement_timeout_ms)
        self.event_runs = event_runs
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise DatabaseUrlError(f"Malformed database URL: {url!r}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise DatabaseUrlError(
                f"Unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://"
            )
        self._local = threading.local()
        self._kept: weakref.WeakSet[_Kept] = weakref.WeakSet()
        self._no_wait: Connection | None = None
        database = parsed.database if self.dialect == "sqlite" else None
        self._writer_lock: AbstractContextManager[Any] = nullcontext()
        if self.dialect == "sqlite":
            file = database if database and database != ":memory:" else None
            self._writer_lock = WriterLock(f"{file}-writer" if file else None)
        self._checkpointer: _Checkpointer | None = None
        self._background_checkpoints = bool(
            background_checkpoints and database and database != ":memory:"
        )
        try:
            self.engine = self._create_engine(pool_size)
        except (NoSuchModuleError, ArgumentError) as exc:
            raise DatabaseUrlError(f"Cannot use database URL {url!r}: {exc}") from None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _create_engine(self, pool_size: int) -> Engine:
        # orjson for JSON columns: 10 000 membership events in one request spent a fifth of
        # their time in the standard library's encoder.
        json_options: dict[str, Any] = {
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
            # A database error's message must not carry the statement's values into logs:
            # they hold people's names and addresses, and webhook signing secrets.
            "hide_parameters": True,
        }
        limit = self.statement_timeout_ms
        if self.dialect == "sqlite":
            connect_args: dict[str, Any] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
            if limit:
                connect_args["factory"] = TimedConnection
            engine = create_engine(
                self.url,
                connect_args=connect_args,
                pool_size=pool_size,
                max_overflow=pool_size,
                **json_options,
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            if limit:

                def limit_statements(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
                    dbapi_connection.limit_statements(limit / 1000)

                event.listen(engine, "connect", limit_statements)
            event.listen(engine, "begin", _sqlite_on_begin)
            if self._background_checkpoints:
                event.listen(engine, "connect", _no_checkpoint_on_commit)
            guard_engine(engine)
            return engine
        pg_args: dict[str, Any] = {"connect_timeout": 10}
        if limit:
            # Set once per connection, at connect: no statement of a request pays for it.
            pg_args["options"] = f"-c statement_timeout={limit}"
        engine = create_engine(
            self.url,
            # An unreachable server fails a request in seconds, not after the TCP timeout.
            connect_args=pg_args,
            pool_size=pool_size,
            max_overflow=pool_size,
            # No ping per checkout (a round trip per transaction): see `storage.postgres`.
            pool_pre_ping=False,
            **json_options,
        )
        guard_engine(engine)
        postgres.install(engine)
        return engine

    @contextmanager
    def write(self, *, rollback: bool = False, wait: bool = True) -> Iterator[Connection]:
        """A read-write transaction: committed on success, rolled back on any exception.

        With `rollback=True` it is rolled back even on success (a dry run: everything is
        checked and done, then undone). Callbacks registered with `before_commit` run just
        before a commit, inside the transaction.

        On SQLite, writers queue on a lock (`WriterLock`: a thread lock, and a file lock
        shared with other processes) instead of in SQLite's busy handler, which sleeps in
        steps of up to 100 ms and turned 16 concurrent writers into a p99 of a second.
        `wait=False` (SQLite): raise `WriterBusy` at once rather than queue, for a caller
        that must not block (the event loop, one write at a time: `storage.group_commit`).
        It writes on a connection of its own (never waiting for the pool) whose busy
        timeout is zero: a writer that does not take the lock file (another user's CLI that
        cannot open it, another program) makes it give up, not wait.
        """
        with self._writer(wait), self._connection_to_write(wait) as conn:
            conn = conn.execution_options(
                **{_WRITE: True, postgres.PIPELINED: True, _EVENT_RUNS: self.event_runs}
            )
            try:
                with _begun(conn, wait) as transaction:
                    yield conn
                    if rollback:
                        transaction.rollback()
                    else:
                        run_before_commit(conn)
            finally:
                forget_transaction_state(conn)

    @contextmanager
    def _connection_to_write(self, wait: bool) -> Iterator[Connection]:
        """Taken once the writer lock is held (a writer waiting for it holds no connection
        of the pool); without `wait`, the connection kept for writes that must not wait."""
        if wait:
            with self.engine.connect() as conn:
                yield conn
            return
        kept = self._no_wait
        if kept is None or kept.closed or kept.invalidated:
            kept = self._no_wait = self.engine.connect()
            on_driver(kept.connection.dbapi_connection, "PRAGMA busy_timeout = 0")
        yield kept

    @contextmanager
    def _writer(self, wait: bool) -> Iterator[None]:
        if wait:
            with self._writer_lock:
                yield
            return
        lock = self._writer_lock
        if not isinstance(lock, WriterLock) or not lock.try_enter():
            raise WriterBusy
        try:
            yield
        finally:
            lock.__exit__()

    def read(self, *, reuse: bool = False) -> AbstractContextManager[Connection]:
        """A read-only transaction (rolled back at the end).

        `reuse` (SQLite): on a connection this thread keeps, rather than one from the pool,
        which costs as much as a point read does. For the event loop's point reads."""
        if reuse and self.is_sqlite:
            holder = self._kept_connection()
            if not holder.busy:  # a nested read takes the pool
                return holder
        return self._pooled_read()

    @contextmanager
    def _pooled_read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{postgres.PIPELINED: True})
            with conn.begin() as tx:
                yield conn
                # Ended by a commit (it changed nothing): on PostgreSQL a rollback would
                # throw the connection's prepared statements away (`storage.postgres`).
                if self.is_sqlite:
                    tx.rollback()

    def _kept_connection(self) -> _Kept:
        """This thread's own connection, returned to the pool when the thread ends (its
        thread-local holder is collected) or at `dispose`."""
        holder: _Kept | None = getattr(self._local, "kept", None)
        if holder is None or holder.conn.closed:
            holder = self._local.kept = _Kept(self.engine.connect())
            self._kept.add(holder)
        return holder

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError:
            return False
        return True

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call on every start)."""
        if self.is_sqlite:
            ensure_sqlite_directory(self.url)
        # Processes starting at once (`serve` ×N, the worker, an upgrade) migrate one at a
        # time; the others then find the schema current. PostgreSQL: a transaction-scoped
        # advisory lock (the DDL commits with it); SQLite: the writer lock, and an immediate
        # transaction for a process that cannot use the lock file.
        with self._writer_lock, self.engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin(), without_statement_limit(conn):
                if not self.is_sqlite:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                config = _alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        if self._background_checkpoints and self._checkpointer is None:
            self._checkpointer = _Checkpointer(self.engine)

    def dispose(self) -> None:
        for holder in list(self._kept):
            holder.conn.close()
        if self._no_wait is not None:
            self._no_wait.close()
            self._no_wait = None
        if isinstance(self._writer_lock, WriterLock):
            self._writer_lock.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()


def _begun(conn: Connection, wait: bool) -> Any:
    """`conn.begin()`; without `wait`, SQLite's lock found taken is `WriterBusy`."""
    try:
        return conn.begin()
    except (OperationalError, sqlite3.OperationalError) as exc:
        if wait or "database is locked" not in str(exc):
            raise
        if conn.in_transaction():
            conn.rollback()
        raise WriterBusy from None


class _Kept:
    """A thread's kept connection, and a read transaction on it (the holder is the context
    manager: nothing is built per read). The connection goes back to the pool when the
    holder is collected."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.busy = False
        #: `unchanged_memo`, and the `data_version` its entries were read at.
        self.memo: dict[Any, Any] = {}
        self.version: int | None = None
        self._memo_dbapi: Any = None
        self._dbapi: Any = None
        weakref.finalize(self, conn.close)

    def __enter__(self) -> Connection:
        if self.busy:
            raise RuntimeError("the kept connection is already in a read")
        kept = self.conn
        # BEGIN straight on the driver (SQLAlchemy's begin and rollback cost more than the
        # read); a statement through SQLAlchemy inside finds the transaction open (see
        # `_sqlite_on_begin`) and the rollback on exit ends both.
        dbapi: Any = kept.connection.dbapi_connection
        if kept.in_transaction():  # left open by a failure: never a stale snapshot
            kept.rollback()
        if dbapi.in_transaction:
            on_driver(dbapi, "ROLLBACK")
        on_driver(dbapi, "BEGIN DEFERRED")
        self.busy = True
        self._dbapi = dbapi
        try:
            # Starts the read snapshot; changes when anything (of another connection: this
            # one never writes) was committed since the last read on it.
            version = dbapi.execute("PRAGMA data_version").fetchone()[0]
        except BaseException:
            self.__exit__()
            raise
        # Versions count per driver connection: after a reconnect (SQLAlchemy swaps in
        # another pooled one when a connection is invalidated), they compare nothing.
        if version != self.version or dbapi is not self._memo_dbapi or len(self.memo) > _MEMO_LIMIT:
            self.memo.clear()
            self.version = version
            self._memo_dbapi = dbapi
        _MEMOS[kept] = self.memo
        return kept

    def __exit__(self, *_exc: object) -> None:
        kept = self.conn
        self.busy = False
        _MEMOS.pop(kept, None)
        try:
            if kept.in_transaction():
                kept.rollback()
        finally:
            # An invalidated connection's driver connection is closed, its transaction gone.
            if not kept.invalidated and self._dbapi.in_transaction:
                on_driver(self._dbapi, "ROLLBACK")


def on_driver(dbapi: Any, statement: str) -> None:
    """BEGIN, ROLLBACK or a savepoint's statement on the driver, failing as SQLAlchemy
    would have."""
    try:
        dbapi.execute(statement)
    except sqlite3.Error as exc:  # as SQLAlchemy would have raised it
        raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc


class _Checkpointer:
    """Copies SQLite's write-ahead log back into the database file from a thread of its own.

    By default the commit that fills the log past 1 000 pages does that copy, with two
    fsyncs, on the request path: on 100 000 members that was 160 µs of every create's
    225 µs commit. A PASSIVE checkpoint never blocks readers or writers; it copies what no
    reader still needs. It runs every `interval` seconds; SQLite truncates the log file
    back to `journal_size_limit` when it restarts it.
    """

    def __init__(self, engine: Engine, interval: float = 0.2) -> None:
        self.engine = engine
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self) -> None:
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # type: ignore[union-attr]
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.checkpoint()
            except Exception:  # a failed checkpoint is retried; the log just grows meanwhile
                log.exception("SQLite checkpoint failed")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
        with suppress(sqlite3.Error):
            self.checkpoint()


#: Entries an unchanged-database memo holds at most (it is cleared past that).
_MEMO_LIMIT = 256
#: The memo of each kept connection while it is in a read (by the SQLAlchemy connection
#: object, not in the pool entry's `info`, which outlives it and is shared with the pool).
_MEMOS: weakref.WeakKeyDictionary[Connection, dict[Any, Any]] = weakref.WeakKeyDictionary()


BUSY = "The database is busy; retry the request"


def database_busy(error: BaseException) -> bool:
    """Whether `error` is SQLite's busy timeout running out: another program held the
    write lock past it. Answered 503 (retry), never 500."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def unavailable(error: BaseException) -> str | None:
    """The detail of a 503 for a database error a client may retry (busy, or stopped at
    the time limit); None for any other error."""
    if database_busy(error):
        return BUSY
    if statement_timed_out(error):
        return TOO_SLOW
    return None


def writes_event_runs(conn: Connection) -> bool:
    """Whether the events of a write on `conn` may be stored as runs (`Database.event_runs`)."""
    return bool(conn.get_execution_options().get(_EVENT_RUNS, True))


def in_write(conn: Connection) -> bool:
    """Whether `conn` runs a write transaction (`Database.write`): what it reads may hold its
    own changes, which a rollback undoes."""
    return bool(conn.get_execution_options().get(_WRITE))


def unchanged_memo(conn: Connection) -> dict[Any, Any] | None:
    """A dict for results read from the database that stay true while nothing is committed
    to it: inside a `read(reuse=True)` on SQLite, its entries were read on this connection
    since the last commit (by any connection of any process, per SQLite's
    `PRAGMA data_version`), so they equal what this transaction would read. None elsewhere
    (PostgreSQL, pooled reads, writes): read again."""
    return _MEMOS.get(conn)


def remembered(conn: Connection, key: Any, load: Callable[[], _T]) -> _T:
    """`load()`, or what it returned for `key` on this connection since anything was last
    committed (`unchanged_memo`); loaded afresh where there is no memo. What `load` raises
    is not remembered."""
    memo = unchanged_memo(conn)
    if memo is None:
        return load()
    if key in memo:
        found: _T = memo[key]
        return found
    value = memo[key] = load()
    return value


def transaction_state(conn: Connection) -> dict[str, Any]:
    """A dict that lives as long as the current write transaction: per-transaction state
    that callers keep next to the connection (e.g. the domain's pending events)."""
    state: dict[str, Any] = conn.info.setdefault(_TRANSACTION_STATE, {})
    return state


def forget_transaction_state(conn: Connection) -> None:
    """Drop `transaction_state` (at the end of the write it belonged to)."""
    conn.info.pop(_TRANSACTION_STATE, None)


def before_commit(conn: Connection, callback: Callable[[Connection], None]) -> None:
    """Run `callback(conn)` once, just before this write transaction commits; not at all
    when it is rolled back."""
    callbacks: list[Callable[[Connection], None]] = transaction_state(conn).setdefault(
        "before_commit", []
    )
    if callback not in callbacks:
        callbacks.append(callback)


def run_before_commit(conn: Connection) -> None:
    """Run the callbacks `before_commit` registered on this transaction (a shared write's,
    at its end: `storage.group_commit`)."""
    for callback in transaction_state(conn).get("before_commit", []):
        callback(conn)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


#: How much of a SQLite database file each connection reads through a memory map.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Autocommit at the driver level: SQLAlchemy's "begin" event issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # LIKE is case-insensitive for ASCII in SQLite; filters fold case themselves.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    # Reads map the database file instead of copying each page through a read() call
    # (docs/decisions.md: 10-16 % off a thousand-check access decision's reads).
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()
    # Filters fold JSON values with it: SQLite's lower() is ASCII-only.
    dbapi_connection.create_function(SQLITE_FOLD, 1, sqlite_fold, deterministic=True)


def _no_checkpoint_on_commit(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    dbapi_connection.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")


def _sqlite_on_begin(conn: Connection) -> None:
    # Straight on the driver: through `exec_driver_sql` this cost more than a point read.
    dbapi: Any = conn.connection.dbapi_connection
    if dbapi.in_transaction:  # a `read(reuse=True)` began it on the driver
        return
    write = conn.get_execution_options().get(_WRITE)
    on_driver(dbapi, "BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("scimitar.storage") / "migrations"
    config.set_main_option("script_location", os.fspath(str(location)))
    return config
