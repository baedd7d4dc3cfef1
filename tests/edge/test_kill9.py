"""Durability: `scimitar serve` killed with SIGKILL while it takes SCIM creates, restarted,
killed again: every create it acknowledged (2xx) is there afterwards, and the change feed
(GET /api/v1/events) is gap-free and holds one member.created per acknowledged create."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.storage.database import Database
from tests.domain.helpers import make_org
from tests.processes import start_serve

#: Four clients as fast as they go, then a read of every create: no per-key rate limit (it
#: would answer 429, and this test is about durability, not limits).
UNLIMITED = {**os.environ, "SCIMITAR_SCIM_RATE_LIMIT": "0"}

KILLS = 3
LOAD_SECONDS = 2.0
CLIENTS = 4


def _creates(base: str, key: str, prefix: str, acknowledged: dict[str, str], stop: Any) -> None:
    """POST users until the server dies (or `stop`); keeps each acknowledged userName → id."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        n = 0
        while not stop.is_set():
            name = f"{prefix}-{n}@example.com"
            n += 1
            try:
                response = client.post("/scim/Users", json={"userName": name})
            except httpx.HTTPError:
                return  # killed: an unanswered create may or may not have landed
            if 200 <= response.status_code < 300:
                acknowledged[name] = response.json()["id"]


def _feed(base: str, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            page = client.get("/api/v1/events", params={"after": after, "limit": 1000}).json()
            if not page["events"]:
                return found
            found += page["events"]
            after = page["next_after"]


@pytest.mark.slow
def test_acknowledged_creates_survive_kill_9(db: Database) -> None:
    """3 × SIGKILL under 4 clients' creates: 0 acknowledged creates lost, 0 feed gaps."""
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        key = keys.generate_scim_key(tx, org)
        token, _ = keys.create_api_token(tx, org, "durability")
    acknowledged: dict[str, str] = {}
    for kill in range(KILLS):
        server, base = start_serve(db.url, env=UNLIMITED)
        stop = threading.Event()
        clients = [
            threading.Thread(target=_creates, args=(base, key, f"k{kill}c{c}", acknowledged, stop))
            for c in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(LOAD_SECONDS)
        os.killpg(server.pid, signal.SIGKILL)  # mid-request: no shutdown, no flush
        server.wait(timeout=30)
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert len(acknowledged) > 20 * KILLS  # the server was under load when it died
    server, base = start_serve(db.url, env=UNLIMITED)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers) as client:
            for name, member_id in acknowledged.items():
                found = client.get(f"/scim/Users/{member_id}")
                assert found.status_code == 200, name
                assert found.json()["userName"] == name
        feed = _feed(base, token)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    seqs = [event["seq"] for event in feed]
    assert seqs == list(range(1, len(seqs) + 1)), "the feed has a gap"
    created = {e["resource"]["id"] for e in feed if e["type"] == "member.created"}
    assert set(acknowledged.values()) <= created
    print(f"{KILLS} kills: {len(acknowledged)} acknowledged creates, {len(seqs)} events, 0 lost")
