"""Acceptance: `scimitar serve --workers 2` at SCIMITAR_SCIM_RATE_LIMIT=20. Both processes
count one bucket per key (SQLite: the file beside the database; PostgreSQL: Redis)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.runtime.rate_limits import BURST_SECONDS
from scimitar.storage.database import Database
from tests.domain.helpers import make_org
from tests.processes import start_serve

RATE = 20
FLOOD = 500


def test_a_flooding_key_is_limited_across_two_server_processes(
    db: Database, request: pytest.FixtureRequest
) -> None:
    """One key's flood gets 429 + Retry-After once the shared bucket is spent (no more
    successes than one bucket allows, whichever process answered); another org's key and
    the org's API token go on working; the key works again after the wait."""
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        key = keys.generate_scim_key(tx, org)
        token, _ = keys.create_api_token(tx, org, "backend")
        other_key = keys.generate_scim_key(tx, make_org(tx, slug="globex"))
    env = {**os.environ, "SCIMITAR_SCIM_RATE_LIMIT": str(RATE)}
    if not db.is_sqlite:
        env["SCIMITAR_REDIS_URL"] = request.getfixturevalue("redis_url")
    server, base = start_serve(db.url, "--workers", "2", "--no-worker", env=env)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:

            def get(bearer: str) -> httpx.Response:
                headers = {"Authorization": f"Bearer {bearer}"}
                return client.get("/scim/Users?count=1", headers=headers)

            began = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda _: get(key), range(FLOOD)))
            elapsed = time.monotonic() - began
            statuses = [answer.status_code for answer in answers]
            passed, refused = statuses.count(200), statuses.count(429)
            assert passed + refused == FLOOD
            # One bucket: the burst plus what refilled meanwhile (two unshared buckets
            # would let about twice as many through).
            assert RATE * BURST_SECONDS <= passed <= RATE * (BURST_SECONDS + elapsed) + 2
            limited = next(answer for answer in answers if answer.status_code == 429)
            assert limited.json()["status"] == "429"
            wait = int(limited.headers["Retry-After"])
            assert wait >= 1
            assert get(other_key).status_code == 200
            api = client.get("/api/v1/org", headers={"Authorization": f"Bearer {token}"})
            assert api.status_code == 200
            time.sleep(wait)
            assert get(key).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"flood of {FLOOD}: {passed} passed, {refused} refused in {elapsed:.2f} s")
