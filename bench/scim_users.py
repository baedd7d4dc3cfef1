"""Benchmark: SCIM /Users at 100 000 members in one org. Run by hand; prints figures.

    .venv/bin/python bench/scim_users.py [--users 100000] [--database-url URL] [--seconds 10]
                                         [--seed-cache FILE] [--workers N] [--only …]

`--seed-cache FILE` (SQLite only) keeps a copy of the seeded database and its key, so that
repeated runs skip the ~2.5 minutes of seeding.

Needs `wrk` (Debian package `wrk`). The server runs as `scimitar serve --workers N` in a
subprocess (default one process); wrk drives it over loopback with 16 connections. Measured
in one run:
1. a trivial endpoint on the same server (`GET /healthz`), the ceiling, measured again right
   after each of the next two so that each ratio compares neighbouring runs;
2. `GET /Users?filter=userName eq "<random existing user>"`;
3. `POST /Users` with a new userName each time;
4. listing every user with `count=100` pages: total time, first and last page latency, by
   `startIndex` and by RFC 9865 cursors.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.identity import keys
from scimitar.storage.database import Database

LOOKUP_LUA = """
local n = {users}
request = function()
  local i = math.random(0, n - 1)
  local path = "/scim/Users?filter=userName%20eq%20%22bench" .. i .. "%40example.com%22"
  return wrk.format("GET", path, {{["Authorization"] = "Bearer {key}"}})
end
"""

CREATE_LUA = """
local counter = 0
local thread_id = 0
local threads = {{}}
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local body = '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new' .. tid .. '-' .. counter .. '-{run}@example.com","name":{{"givenName":"N","familyName":"U"}},"emails":[{{"value":"x@example.com","type":"work","primary":true}}],"active":true}}'
  return wrk.format("POST", "/scim/Users", {{["Authorization"] = "Bearer {key}", ["Content-Type"] = "application/scim+json"}}, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Database, count: int) -> str:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx, name="Bench", slug="bench", owner_email="owner@example.com"
        )
        key = keys.generate_scim_key(tx, org)
    started = time.perf_counter()
    for start in range(0, count, 1000):
        with db.write() as conn:
            tx = Tx(conn, CLI_ACTOR)
            for i in range(start, min(start + 1000, count)):
                people.create_member(
                    tx,
                    org,
                    {
                        "userName": f"bench{i}@example.com",
                        "name": {"givenName": f"G{i}", "familyName": f"F{i}"},
                        "emails": [
                            {"value": f"bench{i}@example.com", "type": "work", "primary": True}
                        ],
                        "displayName": f"G{i} F{i}",
                    },
                )
    print(f"seeded {count} members in {time.perf_counter() - started:.1f} s")
    return key


def _checkpoint(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def wrk(url: str, seconds: int, script: str | None = None) -> tuple[float, str, str]:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    path = None
    if script:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
            path = handle.name
        cmd += ["-s", path]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if path:
        os.unlink(path)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  ! {errors.group(1)} non-2xx responses")
    return rate, p50, p99


def page_latency(client: httpx.Client, start: int, repeat: int = 7) -> float:
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(f"/scim/Users?startIndex={start}&count=100")
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200 and len(response.json()["Resources"]) > 0
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--database-url")
    parser.add_argument("--seed-cache", type=Path)
    parser.add_argument(
        "--only", default="trivial,lookup,create,list", help="comma-separated subset to run"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="scimitar-bench-"))
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    cache: Path | None = args.seed_cache if not args.database_url else None
    if cache is not None and cache.exists():
        shutil.copy(cache, workdir / "bench.db")
        key = cache.with_suffix(".key").read_text()
        Database(url).migrate()
    else:
        db = Database(url)
        db.migrate()
        key = seed(db, args.users)
        db.dispose()
        if cache is not None:
            _checkpoint(workdir / "bench.db")
            shutil.copy(workdir / "bench.db", cache)
            cache.with_suffix(".key").write_text(key)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SCIMITAR_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "scimitar.faces.cli", "serve", "--port", str(port)),
            *("--workers", str(args.workers)),
        ],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(
            f"database: {url.split(':')[0]}, {args.users} members, wrk -t2 -c16 -d{args.seconds}s,"
            f" {args.workers} server process(es)"
        )
        only = set(args.only.split(","))

        def measure(label: str, script: str | None) -> None:
            """The endpoint, then the trivial endpoint right after it: the ratio compares
            two neighbouring runs, not runs minutes apart on a shared machine."""
            rate, p50, p99 = wrk(base if script else f"{base}/healthz", args.seconds, script)
            print(f"{label:<28} {rate:8.0f} req/s  p50 {p50:>8}  p99 {p99:>8}", end="")
            if script is None:
                print()
                return
            trivial, _, _ = wrk(f"{base}/healthz", args.seconds)
            print(f"  ({trivial / rate:.1f}x the cost of /healthz at {trivial:.0f} req/s)")

        measure("GET /healthz (trivial)", None)
        if "lookup" in only:
            measure("GET userName eq lookup", LOOKUP_LUA.format(users=args.users, key=key))
        if "create" in only:
            measure("POST /Users", CREATE_LUA.format(key=key, run=int(time.time())))
        if "list" not in only:
            return
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        total = client.get("/scim/Users?count=0").json()["totalResults"]
        began = time.perf_counter()
        seen = 0
        for start in range(1, total + 1, 100):
            seen += len(client.get(f"/scim/Users?startIndex={start}&count=100").json()["Resources"])
        elapsed = time.perf_counter() - began
        first = page_latency(client, 1)
        last = page_latency(client, total - 99)
        print(f"list all {seen} users, count=100: {elapsed:.1f} s ({total / 100:.0f} pages)")
        print(f"first page {first:.1f} ms, last page {last:.1f} ms (last/first {last / first:.2f})")
        # The same walk by RFC 9865 cursors (keyset pages).
        began = time.perf_counter()
        seen, timings, cursor = 0, [], ""
        while cursor is not None:
            started = time.perf_counter()
            body = client.get(f"/scim/Users?count=100&cursor={cursor}").json()
            timings.append(time.perf_counter() - started)
            seen += len(body["Resources"])
            cursor = body.get("nextCursor")
        elapsed = time.perf_counter() - began
        head = statistics.median(timings[:7]) * 1000
        tail = statistics.median(timings[-7:]) * 1000
        print(f"by cursor: {seen} users in {elapsed:.1f} s ({len(timings)} pages)")
        print(
            f"first pages {head:.1f} ms, last pages {tail:.1f} ms (median of 7 each,"
            f" last/first {tail / head:.2f})"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
