"""Two `scimitar worker` processes share the delivery work: every event once, none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scimitar.domain.directory import people
from scimitar.domain.events import webhooks
from scimitar.domain.events.addresses import AllowList
from scimitar.storage.database import Database
from tests.domain.events.helpers import sealer, write
from tests.domain.events.receiver import receiver
from tests.domain.helpers import make_org, user_doc

EVENTS = 1000
SCIMITAR = Path(sys.executable).parent / "scimitar"


def test_two_worker_processes_deliver_each_event_exactly_once(db: Database) -> None:
    """1 000 events, two worker processes: the receiver sees 1 000 distinct event ids once."""
    if db.is_sqlite:
        pytest.skip("row claims that skip locked rows are PostgreSQL's; SQLite has one writer")
    with write(db) as tx:
        org = make_org(tx)
    with receiver() as hook:
        seal = sealer(db)
        with write(db) as tx:
            local = AllowList.parse("127.0.0.1")  # the receiver
            webhooks.create_endpoint(
                tx, org, hook.url, ["member.created"], sealer=seal, allow=local
            )
        for batch in range(EVENTS // 100):
            with write(db) as tx:
                for i in range(100):
                    people.create_member(tx, org, user_doc(f"u{batch}-{i}@example.com"))
        env = {**os.environ, "SCIMITAR_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
        workers = [
            subprocess.Popen(
                [str(SCIMITAR), "--database-url", db.url, "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 120
            while len(hook.received) < EVENTS and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # a duplicate would arrive now
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            for process in workers:
                process.wait(timeout=30)
    ids = [json.loads(r.body)["id"] for r in hook.received]
    assert len(ids) == EVENTS
    assert len(set(ids)) == EVENTS
    assert all(process.returncode == 0 for process in workers)
