"""Benchmark: group membership at scale. Run by hand; prints figures.

    .venv/bin/python bench/scim_groups.py [--members 100000] [--database-url URL]

Against `scimitar serve` in a subprocess (one uvicorn worker), over loopback:
1. PATCH add 1 member to a group of N members vs to an empty group (median of 30 each);
2. PATCH replace a group's members with a 10 000-member list (one request);
3. PATCH remove 1 000 members in one request (Entra's value-array form);
4. GET a 100 000-member group with its members (streamed size and time), and with
   `excludedAttributes=members`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import insert

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, organizations
from scimitar.domain.identity import keys
from scimitar.domain.models import GroupKind
from scimitar.storage.database import Database
from scimitar.storage.tables import group_members, members

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Database, count: int) -> tuple[str, str, str, list[str]]:
    """An org with `count` members (bulk-inserted), a group holding all of them, an empty
    group; returns the key, both group ids and the member ids."""
    now = datetime.now(UTC)
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx, name="Bench", slug="bench", owner_email="owner@example.com"
        )
        key = keys.generate_scim_key(tx, org)
        big = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Everyone")
        empty = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Empty")
    ids = [str(uuid.uuid4()) for _ in range(count + 2000)]
    started = time.perf_counter()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        with db.write() as conn:
            conn.execute(
                insert(members),
                [
                    {
                        "id": member_id,
                        "org_id": org.id,
                        "user_name": f"u{start + i}@example.com",
                        "user_name_key": f"u{start + i}@example.com",
                        "active": True,
                        "org_role": "Member",
                        "source": "scim",
                        "attributes": {"userName": f"u{start + i}@example.com"},
                        "version": 1,
                        "created": now,
                        "last_modified": now,
                    }
                    for i, member_id in enumerate(chunk)
                ],
            )
            in_group = chunk[: max(0, count - start)]
            if in_group:
                conn.execute(
                    insert(group_members),
                    [
                        {"group_id": big.id, "member_id": m, "org_id": org.id, "added": now}
                        for m in in_group
                    ],
                )
    print(f"seeded {len(ids)} members, group of {count}, in {time.perf_counter() - started:.1f} s")
    return key, big.id, empty.id, ids


def timed(
    client: httpx.Client, method: str, path: str, body: object | None = None
) -> tuple[float, httpx.Response]:
    began = time.perf_counter()
    response = client.request(method, path, json=body)
    elapsed = time.perf_counter() - began
    if response.status_code >= 300:
        raise SystemExit(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
    return elapsed * 1000, response


def add_one(client: httpx.Client, group_id: str, member_id: str) -> float:
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": member_id}]}],
    }
    return timed(client, "PATCH", f"/scim/Groups/{group_id}", body)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="scimitar-bench-"))
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    db = Database(url)
    db.migrate()
    key, big, empty, ids = seed(db, args.members)
    db.dispose()
    spare = ids[args.members :]
    port = free_port()
    env = {**os.environ, "SCIMITAR_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "scimitar.faces.cli", "serve", "--port", str(port)], env=env
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=600,
        )
        for _ in range(100):
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(f"database: {url.split(':')[0]}")
        for i in range(5):  # warm up
            add_one(client, empty, spare[1900 + i])
        to_big = [add_one(client, big, spare[i]) for i in range(30)]
        to_empty = [add_one(client, empty, spare[100 + i]) for i in range(30)]
        b, e = statistics.median(to_big), statistics.median(to_empty)
        print(
            f"add 1 member: to a group of {args.members}: {b:.2f} ms, to a small group: {e:.2f} ms (ratio {b / e:.2f})"
        )

        replacement = [{"value": m} for m in ids[:10_000]]
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "members", "value": replacement}],
        }
        ms, _ = timed(client, "PATCH", f"/scim/Groups/{empty}", body)
        print(f"replace members with a 10 000-member list: {ms:.0f} ms")
        removal = [{"value": m} for m in ids[:1000]]
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": "members", "value": removal}],
        }
        ms, _ = timed(client, "PATCH", f"/scim/Groups/{empty}", body)
        print(f"remove 1 000 members in one request: {ms:.0f} ms ({ms / 1000:.3f} ms per member)")
        ms, response = timed(client, "GET", f"/scim/Groups/{big}")
        print(
            f"GET group with {len(response.json()['members'])} members: {ms:.0f} ms, {len(response.content) / 1e6:.1f} MB"
        )
        ms, response = timed(client, "GET", f"/scim/Groups/{big}?excludedAttributes=members")
        print(f"GET group excludedAttributes=members: {ms:.1f} ms, {len(response.content)} bytes")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
