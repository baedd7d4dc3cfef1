"""Side by side: Scimitar and the peer reference server (scim2-server, in memory).

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install scim2-server==0.8.3
    .venv/bin/python bench/peer_compare.py --peer /tmp/peer/bin/scim2-server

Both servers get the same requests over loopback: N users created with POST /Users, one
group holding all of them (built with PATCH add, 500 per request), then one PATCH that
removes R members with R `remove members[value eq "…"]` operations (Okta's form), timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.identity import keys
from scimitar.storage.database import Database

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(client: httpx.Client, path: str) -> None:
    for _ in range(200):
        try:
            client.get(path)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def scenario(client: httpx.Client, prefix: str, users: int, removed: int) -> float:
    ids = []
    for i in range(users):
        response = client.post(
            f"{prefix}/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"peer{i}@example.com",
            },
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    group = client.post(
        f"{prefix}/Groups",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Peers"},
    )
    group.raise_for_status()
    gid = group.json()["id"]
    for start in range(0, users, 500):
        body = {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": m} for m in ids[start : start + 500]],
                }
            ],
        }
        client.patch(f"{prefix}/Groups/{gid}", json=body).raise_for_status()
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": f'members[value eq "{m}"]'} for m in ids[:removed]],
    }
    began = time.perf_counter()
    client.patch(f"{prefix}/Groups/{gid}", json=body).raise_for_status()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True, help="path of the scim2-server executable")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--removed", type=int, default=100)
    args = parser.parse_args()

    port = free_port()
    peer = subprocess.Popen(
        [args.peer, "--port", str(port), "--bearer-token", "peer"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": "Bearer peer"},
            timeout=3600,
        )
        wait_up(client, "/ServiceProviderConfig")
        peer_ms = scenario(client, "", args.users, args.removed)
    finally:
        peer.terminate()
        peer.wait(timeout=10)

    workdir = Path(tempfile.mkdtemp(prefix="scimitar-peer-"))
    url = f"sqlite:///{workdir}/peer.db"
    db = Database(url)
    db.migrate()
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        key = keys.generate_scim_key(
            tx,
            organizations.create_org(tx, name="Peer", slug="peer", owner_email="owner@example.com"),
        )
    db.dispose()
    port = free_port()
    ours = subprocess.Popen(
        [sys.executable, "-m", "scimitar.faces.cli", "serve", "--port", str(port)],
        env={**os.environ, "SCIMITAR_DATABASE_URL": url},
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=3600,
        )
        wait_up(client, "/healthz")
        our_ms = scenario(client, "/scim", args.users, args.removed)
    finally:
        ours.terminate()
        ours.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"group of {args.users}, one PATCH removing {args.removed} members by filter:")
    print(
        f"  scim2-server 0.8.3 (memory): {peer_ms:9.1f} ms  ({peer_ms / args.removed:.2f} ms per member)"
    )
    print(
        f"  Scimitar (SQLite):          {our_ms:9.1f} ms  ({our_ms / args.removed:.3f} ms per member)"
    )
    print(f"  Scimitar is {peer_ms / our_ms:.0f}x faster")


if __name__ == "__main__":
    main()
