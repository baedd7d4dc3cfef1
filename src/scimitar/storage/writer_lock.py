"""The writer lock of one SQLite database: its writers queue here rather than in SQLite's
busy handler (`Database.write`)."""

from __future__ import annotations

import errno
import logging
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: this process's writers still queue
    fcntl = None  # type: ignore[assignment]
import threading
import weakref
from contextlib import suppress
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("scimitar")


class WriterLock:
    """Queues the writers of one SQLite database: this process's threads on a lock, other
    processes (`serve --workers`, the CLI, `scimitar worker`) on an exclusive `flock` of a
    file beside the database, which the kernel hands on the moment it is free. SQLite's
    own busy handler sleeps in steps of up to 100 ms instead. The wait has no limit: the
    lock is held for one write transaction, and a process that dies releases it.

    Re-entrant within a thread; the file lock is taken by the outermost holder only.
    """

    def __init__(self, path: str | None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        #: A database file (other processes may write it), not one in memory.
        self._shared = path is not None
        self._path = path
        self._fd: int | None = None
        _WRITER_LOCKS.add(self)

    def _file(self) -> int | None:
        """The lock file, opened read-only (flock needs no more) and created readable by
        all, so that a CLI run as another user never locks the server out. Where it cannot
        be used at all, writers fall back to SQLite's busy timeout."""
        if self._fd is None and self._path is not None and fcntl is not None:
            try:
                ensure_sqlite_directory(f"sqlite:///{self._path}")
                self._fd = os.open(self._path, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError as exc:
                self._give_up(exc, permanent=exc.errno in _LOCK_FILE_UNUSABLE)
        return self._fd

    def _give_up(self, exc: OSError, *, permanent: bool) -> None:
        log.warning("SQLite writer lock %s not used (%s)", self._path, exc)
        if permanent:
            self._path = None
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> None:
        self._enter(wait=True)

    def try_enter(self) -> bool:
        """Enter only if no writer holds the lock now, in this process or another: False,
        holding nothing, when one does, and where other processes' writers cannot be seen
        (no usable lock file: they queue in SQLite's busy handler, which would wait)."""
        return self._enter(wait=False)

    def _enter(self, *, wait: bool) -> bool:
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            taken = self._depth > 0 or self._take_file(wait)
        except BaseException:
            self._lock.release()
            raise
        if not taken:
            self._lock.release()
            return False
        self._depth += 1
        return True

    def _take_file(self, wait: bool) -> bool:
        """The lock file, for the outermost holder: waited for (the kernel wakes a waiter
        as soon as it is free; a poller almost never finds the gap between one process's
        writes), or, not waiting, False when another process holds it or it cannot be used.
        A waiting writer goes on without it where it cannot be used (SQLite's busy timeout
        then queues the processes)."""
        fd = self._file()
        if fd is None or fcntl is None:
            return wait or not self._shared
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if not wait:  # held by another process (or not lockable: a waiter finds out)
                return False
            self._give_up(exc, permanent=True)  # e.g. a file system without flock
        return True

    def __exit__(self, *_exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None

    def _after_fork(self) -> None:
        # A forked child must not share (and release) the parent's lock.
        self._lock = threading.RLock()
        self._depth = 0
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None


_WRITER_LOCKS: weakref.WeakSet[WriterLock] = weakref.WeakSet()
#: Why a lock file can never be used here (anything else may pass: try again next time).
_LOCK_FILE_UNUSABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR}


def _reset_writer_locks_after_fork() -> None:
    for lock in list(_WRITER_LOCKS):
        lock._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_writer_locks_after_fork)


def ensure_sqlite_directory(url: str) -> None:
    """The folder of a SQLite database file, made if missing."""
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
