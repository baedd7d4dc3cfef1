"""Benchmark: where the time of one SCIM create goes, and the floor SQLite sets. By hand.

    .venv/bin/python bench/create_floor.py --seed-cache /tmp/bench100k.db [--creates 3000]

Runs `POST /Users` through the ASGI app in process (no sockets, one at a time) on a copy of
the 100 000-member database that `bench/scim_users.py --seed-cache` leaves, and times every
call into SQLite (statements and commit) with a timing connection class. Prints, per create:
the whole request, the time inside SQLite (and by statement), and the time the write
transaction holds SQLite's single write lock. SQLite runs one write transaction at a time, so however many
processes serve, creates per second cannot exceed 1 / (time the write lock is held).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import in_process  # bench/in_process.py (bench/ is the script's own folder)

SPENT = {"sqlite": 0.0}
#: Time inside SQLite by kind of statement ("INSERT INTO members", "BEGIN", "commit").
BY_STATEMENT: collections.Counter[str] = collections.Counter()


def _label(args: tuple[Any, ...]) -> str:
    if not args or not isinstance(args[0], str):
        return "commit"
    words = args[0].split()
    if words[0].upper() in ("INSERT", "DELETE") and len(words) > 2:
        return " ".join(words[:3])
    if words[0].upper() == "UPDATE" and len(words) > 1:
        return " ".join(words[:2])
    if words[0].upper() == "SELECT" and "FROM" in words:
        return "SELECT … FROM " + words[words.index("FROM") + 1]
    return " ".join(words[:2])


def _count(began: float, args: tuple[Any, ...]) -> None:
    # Not the background checkpoints: only what the requests themselves wait for.
    if threading.current_thread().name != "sqlite-checkpoint":
        spent = time.perf_counter() - began
        SPENT["sqlite"] += spent
        BY_STATEMENT[_label(args)] += spent


def _timed(call: Any, *args: Any) -> Any:
    began = time.perf_counter()
    try:
        return call(*args)
    finally:
        _count(began, args)


class _TimedCursor(sqlite3.Cursor):
    def execute(self, *args: Any) -> Any:  # type: ignore[override]
        return _timed(super().execute, *args)

    def executemany(self, *args: Any) -> Any:  # type: ignore[override]
        return _timed(super().executemany, *args)


class _TimedConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _TimedCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, *args: Any) -> Any:  # type: ignore[override]
        return _timed(super().execute, *args)

    def commit(self) -> None:
        _timed(super().commit)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-cache", type=Path, required=True)
    parser.add_argument("--creates", type=int, default=3000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="scimitar-floor-"))
    shutil.copy(args.seed_cache, workdir / "bench.db")
    key = args.seed_cache.with_suffix(".key").read_text()
    original_connect = sqlite3.connect

    def timed_connect(*a: Any, **kw: Any) -> Any:
        kw.setdefault("factory", _TimedConnection)
        return original_connect(*a, **kw)

    sqlite3.connect = timed_connect  # type: ignore[assignment]
    sqlite3.dbapi2.connect = timed_connect  # type: ignore[assignment]  # SQLAlchemy's import
    os.environ["SCIMITAR_DATABASE_URL"] = f"sqlite:///{workdir}/bench.db"
    os.environ["SCIMITAR_SCIM_RATE_LIMIT"] = "0"  # the floor is measured, not the limit
    from scimitar.faces.app import create_app
    from scimitar.storage import database

    held = {"lock": 0.0}
    lock_class = database._WriterLock
    original_enter, original_exit = lock_class.__enter__, lock_class.__exit__
    entered: list[float] = []

    def enter(self: Any) -> None:
        original_enter(self)
        entered.append(time.perf_counter())

    def leave(self: Any, *exc: object) -> None:
        held["lock"] += time.perf_counter() - entered.pop()
        original_exit(self, *exc)

    lock_class.__enter__ = enter  # type: ignore[method-assign]
    lock_class.__exit__ = leave  # type: ignore[method-assign]
    app = create_app()
    numbers = itertools.count()

    async def request(method: str, path: str, body: bytes = b"") -> int:
        return await in_process.call(app, method, path, body, key=key)

    async def create() -> None:
        n = next(numbers)
        body = (
            '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
            f'"userName":"floor{n}-{time.time()}@example.com",'
            '"name":{"givenName":"N","familyName":"U"},'
            '"emails":[{"value":"x@example.com","type":"work","primary":true}],"active":true}'
        ).encode()
        assert await request("POST", "/scim/Users", body) == 201

    async def healthz() -> None:
        assert await request("GET", "/healthz") == 200

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for _ in range(300):
                await create()
                await healthz()
            began = time.perf_counter()
            for _ in range(3000):
                await healthz()
            trivial = (time.perf_counter() - began) / 3000
            SPENT["sqlite"] = held["lock"] = 0.0
            BY_STATEMENT.clear()
            began = time.perf_counter()
            for _ in range(args.creates):
                await create()
            whole = (time.perf_counter() - began) / args.creates
            inside = SPENT["sqlite"] / args.creates
            lock = held["lock"] / args.creates
            print(f"GET /healthz through the app:      {trivial * 1e6:7.0f} us")
            print(f"POST /Users through the app:       {whole * 1e6:7.0f} us")
            print(f"  of which inside SQLite:          {inside * 1e6:7.0f} us")
            print(f"  write lock held (one at a time): {lock * 1e6:7.0f} us")
            print(f"  ceiling for any number of processes: {1 / lock:,.0f} creates/s")
            print("inside SQLite, per create, by statement:")
            for label, spent in BY_STATEMENT.most_common():
                print(f"  {label:<40} {spent / args.creates * 1e6:7.1f} us")

    try:
        asyncio.run(run())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
