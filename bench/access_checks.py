"""Benchmark: access checks on an org of 100 000 members and 1 000 projects. Run by hand.

    .venv/bin/python bench/access_checks.py [--members 100000] [--projects 1000]
        [--engines sqlite,postgresql] [--pg-server URL] [--rounds 200] [--profile FILE]

For each engine: seed the org (projects through the domain, with their role groups; members
and their role-group memberships bulk-inserted, two projects each, plus a direct assignment
for one member in ten), start `scimitar serve` (one process), then over one keep-alive
connection, interleaved so that each figure is compared with its neighbours:
1. `GET /scim/Users?filter=userName eq "…"` for a random member (the yardstick);
2. `POST /api/v1/access/check` with one check of a random member in a random project;
3. the same with 1 000 checks in one call.
Prints the median (p50) of each and the ratios to the lookup. Each request's body is built
before its clock starts (the time is the server's answer, not the client's JSON encoding).
Targets: one check ≤ 1 lookup, 1 000 checks ≤ 20 lookups. `--profile FILE` runs the server
under py-spy (`.venv/bin/pip install py-spy`) and writes its raw samples there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select, text

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations, structure
from scimitar.domain.identity import keys
from scimitar.storage.database import Database
from scimitar.storage.tables import direct_assignments, group_members, groups, members

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ROLES = ("Read-Only", "Member", "Admin", "Owner")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Database, member_count: int, project_count: int) -> tuple[str, str]:
    """The org; returns its SCIM key and an admin API token."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx, name="Bench", slug="bench", owner_email="owner@example.com"
        )
        scim_key = keys.generate_scim_key(tx, org)
        token, _ = keys.create_api_token(tx, org, "bench")
        for i in range(project_count):
            structure.create_project(tx, org, f"Project {i}")
        role_ids = {r.name: r.id for r in structure.list_roles(tx, org)}
        role_groups = conn.execute(
            select(groups.c.id, groups.c.project_id, groups.c.role_id).where(
                groups.c.org_id == org.id, groups.c.kind == "role"
            )
        ).all()
    # role_group[project index][role name] -> the role group's id
    project_ids = sorted({g.project_id for g in role_groups})
    index_of = {p: i for i, p in enumerate(project_ids)}
    name_of = {role_id: name for name, role_id in role_ids.items()}
    role_group: list[dict[str, str]] = [{} for _ in project_ids]
    for g in role_groups:
        role_group[index_of[g.project_id]][name_of[g.role_id]] = g.id
    for start in range(0, member_count, 5000):
        ids = [str(uuid.uuid4()) for _ in range(min(5000, member_count - start))]
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
                    for i, member_id in enumerate(ids)
                ],
            )
            memberships = []
            for i, member_id in enumerate(ids):
                n = start + i
                for project in {n % project_count, (n * 7 + 3) % project_count}:
                    group_id = role_group[project][ROLES[n % 4]]
                    memberships.append(
                        {
                            "group_id": group_id,
                            "member_id": member_id,
                            "org_id": org.id,
                            "added": now,
                        }
                    )
            conn.execute(insert(group_members), memberships)
            conn.execute(
                insert(direct_assignments),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "org_id": org.id,
                        "member_id": member_id,
                        "project_id": project_ids[(start + i) % project_count],
                        "role_id": role_ids["Admin"],
                        "created": now,
                    }
                    for i, member_id in enumerate(ids)
                    if i % 10 == 0
                ],
            )
    if not db.is_sqlite:
        # Statistics, as autovacuum gathers them on a live server (a bulk load has none).
        # On a plain autocommit engine: the app's connections run in transactions
        # (pipelined, BEGIN queued), and an ANALYZE inside one that is never committed
        # keeps nothing.
        plain = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
        with plain.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        plain.dispose()
    print(
        f"  seeded {member_count} members, {project_count} projects in {time.perf_counter() - began:.0f} s"
    )
    return scim_key, token


def timed(make: Callable[[], Callable[[], httpx.Response]]) -> float:
    """The time of one request, from its sending to its answer read; `make` builds it
    (and its body) before the clock starts."""
    call = make()
    began = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"{response.request.url} -> {response.status_code}: {response.text[:300]}")
    return elapsed * 1000


def run(url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    db.migrate()
    scim_key, token = seed(db, args.members, args.projects)
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SCIMITAR_DATABASE_URL": url, "SCIMITAR_API_RATE_LIMIT": "0"}
    cmd = [sys.executable, "-m", "scimitar.faces.cli", "serve", "--port", str(port)]
    # py-spy (`--profile`) writes its raw samples when stopped by SIGINT (and then stops the
    # server itself); a server alone stops quietly on SIGTERM.
    stop = signal.SIGTERM
    if args.profile:
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        record = ["record", "--nonblocking", "-r", "1000", "-f", "raw", "-o", args.profile]
        cmd, stop = [py_spy, *record, "--", *cmd], signal.SIGINT
    server = subprocess.Popen(cmd, env=env)
    rng = random.Random(7)

    def check() -> dict[str, str]:
        return {
            "member": f"u{rng.randrange(args.members)}@example.com",
            "project": f"Project {rng.randrange(args.projects)}",
            "role": rng.choice(ROLES),
        }

    try:
        client = httpx.Client(base_url=base, timeout=120)
        for _ in range(200):
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        scim = {"Authorization": f"Bearer {scim_key}"}
        api = {"Authorization": f"Bearer {token}"}

        def lookup() -> Callable[[], httpx.Response]:
            url = f'/scim/Users?filter=userName eq "u{rng.randrange(args.members)}@example.com"'
            return lambda: client.get(url, headers=scim)

        def checks(count: int) -> Callable[[], httpx.Response]:
            body = json.dumps({"checks": [check() for _ in range(count)]}).encode()
            headers = {**api, "Content-Type": "application/json"}
            return lambda: client.post("/api/v1/access/check", content=body, headers=headers)

        def one() -> Callable[[], httpx.Response]:
            return checks(1)

        def thousand() -> Callable[[], httpx.Response]:
            return checks(1000)

        for _ in range(20):  # warm up
            timed(lookup), timed(one)
        timed(thousand)
        lookups: list[float] = []
        ones: list[float] = []
        thousands: list[float] = []
        for round_ in range(args.rounds):
            lookups.append(timed(lookup))
            ones.append(timed(one))
            if round_ % 10 == 0:
                thousands.append(timed(thousand))
        base_ms = statistics.median(lookups)
        one_ms = statistics.median(ones)
        many_ms = statistics.median(thousands)
        print(f"  SCIM userName eq lookup p50 {base_ms:7.2f} ms ({len(lookups)} requests)")
        print(f"  one access check        p50 {one_ms:7.2f} ms = {one_ms / base_ms:.2f} lookups")
        print(
            f"  1 000 checks, one call  p50 {many_ms:7.2f} ms = {many_ms / base_ms:.1f} lookups"
            f" ({len(thousands)} calls)"
        )
    finally:
        server.send_signal(stop)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-server", default=PG_SERVER)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--profile", help="record the server under py-spy into this file (raw)")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        print(f"{engine}:")
        if engine == "sqlite":
            workdir = Path(tempfile.mkdtemp(prefix="scimitar-bench-"))
            try:
                run(f"sqlite:///{workdir}/bench.db", args)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            continue
        name = f"scimitar_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.pg_server.rsplit("/", 1)[0] + "/" + name, args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
