"""What one SCIM request of each type costs, in process (no sockets), one at a time. By hand.

    .venv/bin/python bench/request_costs.py [--engine sqlite|postgresql] [--users 2000]
        [--db-delay-ms 0.5]

Straight through the ASGI app (no client, no sockets), medians of `--repeat` sequential requests
of each type, one type after another (`--round-robin`, SQLite: interleaved):
a `userName eq` lookup, GET by id, POST, a profile PUT, PATCH adding one member to a group,
and PATCH `active=false` for a member in no group and for one in 100 groups (issue 14:
deactivation within 1.5× a create, and in 100 groups within 3× in none); and one access
check (`POST /api/v1/access/check`, a member of the project's Member role group; issue 13:
within a lookup's cost).

On PostgreSQL the server is reached through the wire-counting proxy of the tests
(`tests/storage/wire_counter.py`), which prints round trips per request (the provisioning
log's background batches included) and, with `--db-delay-ms`, holds each of the server's
answers back that long: the latency of each request type with that round-trip time to the
database.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import in_process  # bench/in_process.py (bench/ is the script's own folder)
import orjson
from sqlalchemy import create_engine, select, text

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, organizations, people, structure
from scimitar.domain.identity import keys
from scimitar.domain.models import GroupKind
from scimitar.faces.app import create_app
from scimitar.storage.database import Database
from scimitar.storage.tables import groups

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's `tests`
from tests.storage.wire_counter import WireCounter

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def document(i: int) -> dict[str, Any]:
    name = f"user{i}@example.com"
    return {
        "userName": name,
        "name": {"givenName": "User", "familyName": str(i)},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


async def median_ms(request: Callable[[int], Awaitable[None]], count: int) -> float:
    times: list[float] = []
    for i in range(count):
        began = time.perf_counter()
        await request(i)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--db-delay-ms", type=float, default=0.0, help="PostgreSQL only")
    parser.add_argument("--only", help="one request type (its name as printed), e.g. to profile")
    parser.add_argument(
        "--dir",
        help="SQLite: where the database file goes (default: the temporary directory). "
        "/dev/shm takes the disk out: the fsync of each background checkpoint, which can "
        "stall the log writes of the requests being timed",
    )
    parser.add_argument(
        "--round-robin",
        action="store_true",
        help="SQLite: the types' requests interleaved, not one type's block after another's",
    )
    args = parser.parse_args()
    database = ""
    counter: WireCounter | None = None
    if args.engine == "postgresql":
        database = f"bench_costs_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        counter = WireCounter(delay=args.db_delay_ms / 1000)
        url = counter.url(database)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(dir=args.dir)) / 'costs.db'}"
    db = Database(url)
    db.migrate()
    repeat = args.repeat
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(tx, name="Costs", slug="costs", owner_email="o@ex.com")
        key = keys.generate_scim_key(tx, org)
    ids: list[str] = []
    for start in range(0, args.users, 1000):
        with db.write() as conn:
            tx = Tx(conn, CLI_ACTOR)
            for i in range(start, min(start + 1000, args.users)):
                ids.append(people.create_member(tx, org, document(i)).id)
    in_groups = ids[-repeat:]
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        for g in range(100):
            group = group_store.insert_group(tx, org, GroupKind.CUSTOM, f"Team {g}")
            group_store.add_members(tx, org, group, in_groups)
        spare = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Spare")
        token, _ = keys.create_api_token(tx, org, "bench")
        project = structure.create_project(tx, org, "Web")
        [member_role] = [r.id for r in structure.list_roles(tx, org) if r.name == "Member"]
        role_group_id = conn.execute(
            select(groups.c.id).where(
                groups.c.project_id == project.id, groups.c.role_id == member_role
            )
        ).scalar_one()
        role_group = group_store.get_group(tx, org, role_group_id)
        group_store.add_members(tx, org, role_group, ids[:repeat])
    # Without the rate limits (the requests here come faster than any IdP's or host's).
    settings = Settings(
        database_url=url, public_url="http://bench", scim_rate_limit=0, api_rate_limit=0
    )
    app = create_app(settings, db=db)
    fresh = iter(range(10**6, 2 * 10**6))

    async def send(method: str, path: str, body: Any = None) -> None:
        raw = orjson.dumps(body) if body is not None else b""
        status = await in_process.call(app, method, "/scim" + path, raw, key=key)
        assert status < 300, (method, path, status)

    async def check(i: int) -> None:
        asked = {"member": f"user{i}@example.com", "project": "Web", "role": "Member"}
        body = orjson.dumps({"checks": [asked]})
        status = await in_process.call(app, "POST", "/api/v1/access/check", body, key=token)
        assert status == 200, status

    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    requests: dict[str, Callable[[int], Awaitable[None]]] = {
        "userName eq lookup": lambda i: send(
            "GET", f"/Users?filter=userName%20eq%20%22user{i}%40example.com%22"
        ),
        "GET by id": lambda i: send("GET", f"/Users/{ids[i]}"),
        "POST /Users": lambda i: send("POST", "/Users", document(next(fresh))),
        "PUT (profile)": lambda i: send(
            "PUT", f"/Users/{ids[i]}", {**document(i), "displayName": f"Renamed {i}"}
        ),
        "PATCH group add one": lambda i: send(
            "PATCH",
            f"/Groups/{spare.id}",
            {
                "schemas": [PATCH],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[i]}]}],
            },
        ),
        "deactivate, in no group": lambda i: send("PATCH", f"/Users/{ids[repeat + i]}", deactivate),
        "deactivate, in 100 groups": lambda i: send("PATCH", f"/Users/{in_groups[i]}", deactivate),
        "one access check": check,
    }

    if args.only and args.only not in requests:
        parser.error(f"--only: one of {', '.join(map(repr, requests))}")

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            for i in range(20):  # warm up: statements prepared, connections open
                await requests["userName eq lookup"](i)
                await requests["GET by id"](i)
            chosen = {n: r for n, r in requests.items() if not args.only or n == args.only}
            if counter is not None or not args.round_robin:  # one type after another
                found = {}
                for name, request in chosen.items():
                    if counter is not None:
                        counter.reset()
                    found[name] = await median_ms(request, repeat)
                    if counter is not None:
                        trips[name] = len(counter.trips) / repeat
                return found
            # Round robin: the i-th request of every type, then the (i+1)-th. Each type's
            # figures come from the same stretch of time (a neighbour's load, the log's
            # size) as the others'; but each request also runs after requests of other
            # types (their checkpoints, caches), so both orders are reported.
            times: dict[str, list[float]] = {name: [] for name in chosen}
            for i in range(repeat):
                for name, request in chosen.items():
                    began = time.perf_counter()
                    await request(i)
                    times[name].append(time.perf_counter() - began)
            return {name: statistics.median(t) * 1000 for name, t in times.items()}

    trips: dict[str, float] = {}
    results = asyncio.run(run())
    db.dispose()
    if counter is not None:
        counter.close()
    if database:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    delay = f", {args.db_delay_ms} ms round trip to the database" if args.db_delay_ms else ""
    order = ", round robin" if args.round_robin and counter is None else ""
    print(
        f"{args.engine}, {args.users} members, median of {repeat} sequential requests{delay}{order}:"
    )
    for name, ms in results.items():
        per = f"  {trips[name]:5.1f} round trips" if name in trips else ""
        print(f"  {name:28} {ms:7.3f} ms{per}")
    if args.only:
        return
    create = results["POST /Users"]
    none = results["deactivate, in no group"]
    print(f"  deactivation / create:       {none / create:.2f}× (target ≤ 1.5)")
    print(
        f"  in 100 groups / in none:     {results['deactivate, in 100 groups'] / none:.2f}× (≤ 3)"
    )
    lookup = results["userName eq lookup"]
    print(f"  GET by id / lookup:          {results['GET by id'] / lookup:.2f}×")
    print(f"  one access check / lookup:   {results['one access check'] / lookup:.2f}× (≤ 1)")


if __name__ == "__main__":
    main()
