"""`scimitar serve --workers 2`: two server processes on one port and one database.

On SQLite their writers queue on a file lock beside the database (`storage.writer_lock`), so
concurrent creates from both processes all land, none waits in SQLite's busy handler, and a
userName sent by many clients at once is still created exactly once.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.storage.database import Database
from tests.domain.helpers import make_org
from tests.processes import start_serve


def _user(name: str) -> dict[str, object]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}


def test_two_server_processes_share_one_database(db: Database) -> None:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        key = keys.generate_scim_key(tx, make_org(tx))
    server, base = start_serve(db.url, "--workers", "2")
    try:
        headers = {"Authorization": f"Bearer {key}"}

        def post(name: str) -> int:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                return client.post("/scim/Users", json=_user(name)).status_code

        names = [f"user{n}@example.com" for n in range(60)] + ["Same@Example.com"] * 20
        names += ["same@EXAMPLE.com"] * 20
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(post, names))
        assert statuses[:60] == [201] * 60
        duplicates = statuses[60:]
        assert sorted(duplicates) == [201] + [409] * 39
        with httpx.Client(base_url=base, headers=headers) as client:
            total = client.get("/scim/Users?count=0").json()["totalResults"]
            same = client.get('/scim/Users?filter=userName eq "same@example.com"').json()
        assert total == 1 + 60 + 1  # the owner, the sixty, one of the duplicates
        assert same["totalResults"] == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _hold_write_lock(url: str, held: object, seconds: float) -> None:
    database = Database(url)
    with database.write():
        held.set()  # type: ignore[attr-defined]
        time.sleep(seconds)
    database.dispose()


def test_sqlite_writers_of_two_processes_queue_on_the_file_lock(tmp_path: Path) -> None:
    """While another process holds the write lock, a writer here waits for it (rather than
    failing with 'database is locked' or sleeping in SQLite's busy handler) and goes on the
    moment it is released."""
    url = f"sqlite:///{tmp_path}/shared.db"
    Database(url).migrate()
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    other = context.Process(target=_hold_write_lock, args=(url, held, 0.6))
    other.start()
    assert held.wait(30)
    # The other process's write holds the file lock beside the database ...
    lock_file = os.open(f"{tmp_path}/shared.db-writer", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(lock_file)
    # ... so a writer here waits for it, then goes on.
    database = Database(url)
    began = time.monotonic()
    with database.write() as conn:
        waited = time.monotonic() - began
        make_org(Tx(conn, CLI_ACTOR))
    other.join(30)
    database.dispose()
    assert other.exitcode == 0
    assert 0.3 < waited < 5
