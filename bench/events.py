"""Benchmark: what the change feed costs a SCIM write, and how fast the feed reads.

    .venv/bin/python bench/events.py [--database-url URL] [--writes 300] [--events 50000]

1. `POST /Users` through the whole app (in-process ASGI client, one request at a time),
   with events, then with `feed.emit` replaced by a no-op (the same build otherwise):
   the difference is what events add to a SCIM write (target < 25 %).
2. Feed reads of `--events` events, 1 000 a page: through the domain (`read_feed`) and
   over HTTP (`GET /api/v1/events`) — target ≥ 10 000 events/s.
Default database: a fresh SQLite file; pass a PostgreSQL URL to measure that engine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.events import feed
from scimitar.domain.identity import keys
from scimitar.faces.app import create_app
from scimitar.storage.database import Database


def make_org(db: Database, slug: str) -> tuple[Any, str, str]:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx, name=slug, slug=slug, owner_email=f"owner@{slug}.example.com"
        )
        key = keys.generate_scim_key(tx, org)
        token, _ = keys.create_api_token(tx, org, "bench")
    return org, key, token


def post_users(client: TestClient, key: str, count: int, tag: str) -> list[float]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
    timings = []
    for i in range(count):
        body = {
            "userName": f"{tag}-{i}@example.com",
            "name": {"givenName": "B", "familyName": "U"},
            "emails": [{"value": f"{tag}-{i}@example.com", "type": "work", "primary": True}],
        }
        started = time.perf_counter()
        response = client.post("/scim/Users", json=body, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
    return timings


def write_cost(client: TestClient, key: str, writes: int) -> tuple[float, float]:
    """Median ms per POST /Users with events and with emit a no-op, interleaved in rounds
    so that drift (caches, WAL growth) hits both alike."""
    real_emit = feed.emit
    with_events: list[float] = []
    without: list[float] = []
    post_users(client, key, 50, "warmup")
    for round_ in range(6):
        with_events += post_users(client, key, writes // 6, f"with{round_}")
        feed.emit = lambda *args, **kwargs: None  # type: ignore[assignment]
        try:
            without += post_users(client, key, writes // 6, f"without{round_}")
        finally:
            feed.emit = real_emit
    return statistics.median(with_events) * 1000, statistics.median(without) * 1000


def fill_feed(db: Database, org_id: str, count: int) -> None:
    for start in range(0, count, 5000):
        with db.write() as conn:
            tx = Tx(conn, CLI_ACTOR)
            for i in range(start, min(start + 5000, count)):
                member_id = str(uuid.uuid4())
                data = {"id": member_id, "userName": f"feed{i}@example.com", "active": True}
                feed.emit(tx, org_id, "member.created", "member", member_id, data=data, version=1)


def read_domain(db: Database, org_id: str) -> tuple[int, float]:
    started, after, read = time.perf_counter(), 0, 0
    while True:
        with db.read() as conn:
            page = feed.read_feed(Tx(conn, CLI_ACTOR), org_id, after=after, limit=1000)
            bodies = [e.to_json() for e in page]
        if not bodies:
            return read, time.perf_counter() - started
        read += len(bodies)
        after = bodies[-1]["seq"]


def read_http(client: TestClient, token: str) -> tuple[int, float]:
    started, after, read = time.perf_counter(), 0, 0
    while True:
        response = client.get(
            f"/api/v1/events?after={after}&limit=1000",
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        if not body["events"]:
            return read, time.perf_counter() - started
        read += len(body["events"])
        after = body["next_after"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db = Database(url)
    app = create_app(Settings(database_url=url), db=db)
    slug = f"bench{uuid.uuid4().hex[:6]}"
    with TestClient(app) as client:
        _, key, _ = make_org(db, slug)
        with_ms, without_ms = write_cost(client, key, args.writes)
        print(f"engine: {db.dialect}")
        print(f"POST /Users median: {with_ms:.2f} ms with events, {without_ms:.2f} ms without")
        print(f"events add: {(with_ms / without_ms - 1) * 100:.1f} % to a SCIM write")
        feed_org, _, feed_token = make_org(db, slug + "feed")
        fill_feed(db, feed_org.id, args.events)
        count, seconds = read_domain(db, feed_org.id)
        print(f"feed via read_feed: {count} events in {seconds:.2f} s = {count / seconds:,.0f}/s")
        count, seconds = read_http(client, feed_token)
        print(f"feed via HTTP:      {count} events in {seconds:.2f} s = {count / seconds:,.0f}/s")
    db.dispose()


if __name__ == "__main__":
    main()
