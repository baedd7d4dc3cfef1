"""Side by side under wrk: Scimitar, scim2-server and the django-scim2 peer, one run. By hand.

    python3 -m venv /tmp/scim2 && /tmp/scim2/bin/pip install scim2-server==0.8.3
    PEER_VENV=/tmp/django-peer /work/shared/peers/django-scim2/setup.sh
    .venv/bin/python bench/side_by_side.py --scim2 /tmp/scim2/bin/scim2-server \\
        --django /work/shared/peers/django-scim2 --django-venv /tmp/django-peer \\
        [--users 10000] [--engine sqlite|postgresql] [--workers 1|2] [--seconds 5] \\
        [--write-seconds 3] [--profile FILE]

Each server gets the same N users (userName seed.userNNNNN@example.com), then each request
type runs under `wrk -t1 -c8` for the same time (reads 5 s, writes 3 s), one server after the other: a `userName eq`
lookup, GET by id, a page of 100 at a random `startIndex`, POST, PUT (a profile update),
PATCH adding one member to a group, and PATCH `active=false` (each deactivating a user not
deactivated yet, last since it changes the most). Prints req/s per server and Scimitar's
ratio to each peer. scim2-server keeps everything in memory (`--engine` does not apply);
the django peer and Scimitar use the engine given (PostgreSQL: a fresh database each, on
127.0.0.1:5432). The peers run as their setups do (one process); `--workers` is Scimitar's.
The django peer's folder is copied to a temporary directory, never written. `--profile FILE`
runs Scimitar under py-spy (`.venv/bin/pip install py-spy`), its raw samples written there.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.identity import keys
from scimitar.storage.database import Database

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
TYPES = ["lookup", "get", "page", "post", "put", "group_add", "deactivate"]
#: Shorter runs: each group add and deactivation needs a user of its own.
WRITES = {"post", "put", "group_add", "deactivate"}
LABELS = {
    "lookup": "`userName eq` lookup",
    "get": "GET /Users/{id}",
    "page": "page of 100 (`startIndex` random)",
    "post": "POST /Users",
    "put": "PUT /Users/{id}",
    "group_add": "PATCH group add one member",
    "deactivate": "PATCH `active=false`",
}


def user_name(i: int) -> str:
    return f"seed.user{i:05d}@example.com"


def user_body(i: int) -> dict[str, object]:
    name = user_name(i)
    return {
        "schemas": [USER],
        "userName": name,
        "externalId": f"00u{i:05d}",
        "name": {"givenName": "Seed", "familyName": f"User{i:05d}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


@dataclass
class Server:
    """One running server: where its SCIM API is and what it holds."""

    name: str
    base: str  # http://127.0.0.1:PORT
    prefix: str  # the SCIM path prefix
    token: str
    process: subprocess.Popen[bytes]
    users: list[tuple[str, str]] = field(default_factory=list)  # (id, userName)
    group: str = ""
    cleanup: list[object] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base + self.prefix,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=600,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT: py-spy (--profile) writes its samples out on it; servers stop on it.
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(server: Server, path: str = "/ServiceProviderConfig") -> None:
    deadline = time.monotonic() + 120
    with server.client() as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit(f"{server.name} exited while starting")
            try:
                if client.get(path).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"{server.name} did not start")


def spawn(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped whole (gunicorn's children)
    )


def pg_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_group(server: Server) -> None:
    with server.client() as client:
        response = client.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "Bench", "members": []}
        )
        response.raise_for_status()
        server.group = response.json()["id"]


# The servers


def start_scimitar(args: argparse.Namespace, workdir: Path) -> Server:
    if args.engine == "postgresql":
        database = pg_database("bench_scimitar")
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + database
    else:
        database, url = "", f"sqlite:///{workdir}/scimitar.db"
    db = Database(url)
    db.migrate()
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(tx, name="Bench", slug="bench", owner_email="o@example.com")
        key = keys.generate_scim_key(tx, org)
    users: list[tuple[str, str]] = []
    for start in range(1, args.users + 1, 1000):
        with db.write() as conn:
            tx = Tx(conn, CLI_ACTOR)
            for i in range(start, min(start + 1000, args.users + 1)):
                document = {k: v for k, v in user_body(i).items() if k != "schemas"}
                member = people.create_member(tx, org, document)
                users.append((member.id, member.user_name))
    db.dispose()
    port = free_port()
    # Without the per-key rate limit: wrk sends far more than any IdP (the limit answers 429).
    env = {
        **os.environ,
        "SCIMITAR_DATABASE_URL": url,
        "SCIMITAR_ACCESS_LOG": "0",
        "SCIMITAR_SCIM_RATE_LIMIT": "0",
    }
    cmd = [sys.executable, "-m", "scimitar.faces.cli", "serve", "--port", str(port)]
    if args.profile:  # py-spy's raw samples of the run (every process of `--workers 2`)
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        cmd = [
            py_spy,
            "record",
            "--subprocesses",
            "--nonblocking",
            "-r",
            "500",
            "-f",
            "raw",
            "-o",
            args.profile,
            "--",
            *cmd,
        ]
    process = spawn([*cmd, "--workers", str(args.workers)], env)
    server = Server("Scimitar", f"http://127.0.0.1:{port}", "/scim/v2", key, process, users)
    if database:
        server.cleanup.append(database)
    wait_up(server)
    make_group(server)
    return server


def start_scim2(args: argparse.Namespace) -> Server:
    port = free_port()
    process = spawn([args.scim2, "--port", str(port), "--bearer-token", "bench"], dict(os.environ))
    server = Server("scim2-server", f"http://127.0.0.1:{port}", "", "bench", process)
    wait_up(server)
    with server.client() as client:  # in memory: seeded over HTTP
        for i in range(1, args.users + 1):
            response = client.post("/Users", json=user_body(i))
            response.raise_for_status()
            server.users.append((response.json()["id"], user_name(i)))
    make_group(server)
    return server


def start_django(args: argparse.Namespace, workdir: Path) -> Server:
    here = workdir / "django-peer"
    shutil.copytree(args.django, here, ignore=shutil.ignore_patterns(".venv", "data", "*.pyc"))
    port = free_port()
    env = {**os.environ, "PEER_TOKEN": "bench", "PEER_VENV": args.django_venv}
    env["PEER_GUNICORN_LOG_LEVEL"] = "warning"
    database = ""
    if args.engine == "postgresql":
        database = pg_database("bench_django")
        env["PEER_DB"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
    else:
        env["PEER_DB"] = str(workdir / "django.sqlite3")
    python = str(Path(args.django_venv) / "bin" / "python")
    env["DJANGO_SETTINGS_MODULE"] = "peer_project.settings"
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=here, check=True
    )
    seeded = subprocess.run(
        [python, "manage.py", "seed_users", "--count", str(args.users), "--prefix", "seed"],
        env=env,
        cwd=here,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    low = int(re.search(r"ID_MIN=(\d+)", seeded).group(1))  # type: ignore[union-attr]
    process = spawn([str(here / "serve.sh"), str(port)], env, cwd=str(here))
    server = Server("django-scim2", f"http://127.0.0.1:{port}", "/scim/v2", "bench", process)
    # bulk_create inserts in order on a fresh database: ids follow the names.
    server.users = [(str(low + i - 1), user_name(i)) for i in range(1, args.users + 1)]
    if database:
        server.cleanup.append(database)
    wait_up(server)
    make_group(server)
    return server


# wrk

LUA_COMMON = """
local prefix = "{prefix}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/scim+json"
wrk.headers["Accept"] = "application/scim+json"
math.randomseed({seed})
local ids, names = {{}}, {{}}
for line in io.lines("{users}") do
  local id, name = line:match("^(%S+) (%S+)$")
  ids[#ids + 1] = id
  names[#names + 1] = name
end
local n = #ids
local half = math.floor(n * 2 / 5)
local counter = 0
"""

LUA_REQUESTS = {
    "lookup": """request = function()
  local name = names[math.random(1, n)]:gsub("@", "%%40")
  return wrk.format("GET", prefix .. "/Users?filter=userName%20eq%20%22" .. name .. "%22")
end""",
    "get": """request = function()
  return wrk.format("GET", prefix .. "/Users/" .. ids[math.random(1, n)])
end""",
    "page": """request = function()
  return wrk.format("GET", prefix .. "/Users?count=100&startIndex=" .. math.random(1, n - 100))
end""",
    "post": """request = function()
  counter = counter + 1
  local name = string.format("new%d-%d@example.com", {seed}, counter)
  local body = '{{"schemas":["{user}"],"userName":"' .. name .. '","name":{{"givenName":"New",'
    .. '"familyName":"User"}},"emails":[{{"value":"' .. name .. '","type":"work","primary":true}}],'
    .. '"active":true}}'
  return wrk.format("POST", prefix .. "/Users", nil, body)
end""",
    "put": """request = function()
  local i = math.random(1, half)
  counter = counter + 1
  local body = '{{"schemas":["{user}"],"userName":"' .. names[i] .. '","name":{{"givenName":"Seed",'
    .. '"familyName":"Renamed' .. counter .. '"}},"emails":[{{"value":"' .. names[i]
    .. '","type":"work","primary":true}}],"active":true}}'
  return wrk.format("PUT", prefix .. "/Users/" .. ids[i], nil, body)
end""",
    # The first two fifths of the users, each added once (in order); deactivations take the
    # rest, each once: a repeated one would be a cheaper no-op.
    "group_add": """request = function()
  counter = counter + 1
  local id = ids[((counter - 1) % half) + 1]
  local body = '{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":'
    .. '[{{"op":"add","path":"members","value":[{{"value":"' .. id .. '"}}]}}]}}'
  return wrk.format("PATCH", prefix .. "/Groups/{group}", nil, body)
end""",
    "deactivate": """request = function()
  counter = counter + 1
  local id = ids[half + ((counter - 1) % (n - half)) + 1]
  local body = '{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":'
    .. '[{{"op":"replace","value":{{"active":false}}}}]}}'
  return wrk.format("PATCH", prefix .. "/Users/" .. id, nil, body)
end""",
}


@dataclass
class Measured:
    rate: float
    requests: int
    errors: int


def run_wrk(server: Server, kind: str, args: argparse.Namespace, workdir: Path) -> Measured:
    users = workdir / f"{server.name}.users"
    users.write_text("".join(f"{i} {name}\n" for i, name in server.users))
    seed = int(time.time() * 1000) % 1_000_000
    script = (LUA_COMMON + LUA_REQUESTS[kind]).format(
        prefix=server.prefix,
        token=server.token,
        users=users,
        seed=seed,
        user=USER,
        group=server.group,
    )
    path = workdir / f"{server.name}-{kind}.lua"
    path.write_text(script)
    seconds = args.write_seconds if kind in WRITES else args.seconds
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "-s", str(path)]
    out = subprocess.run([*cmd, server.base], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Measured(rate, requests, int(errors.group(1)) if errors else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scim2", required=True, help="the scim2-server executable")
    parser.add_argument("--django", required=True, help="the django-scim2 peer's folder")
    parser.add_argument("--django-venv", required=True, help="its venv (PEER_VENV of setup.sh)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, choices=[1, 2], default=1)
    parser.add_argument("--seconds", type=int, default=5, help="per read request type")
    parser.add_argument("--write-seconds", type=int, default=3, help="per write request type")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--types", default=",".join(TYPES), help="request types, in order")
    parser.add_argument("--servers", default="scimitar,scim2,django")
    parser.add_argument("--profile", help="record Scimitar under py-spy into this file (raw)")
    args = parser.parse_args()
    kinds = [k for k in args.types.split(",") if k]
    wanted = args.servers.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    servers: list[Server] = []
    try:
        starters = {
            "scimitar": lambda: start_scimitar(args, workdir),
            "scim2": lambda: start_scim2(args),
            "django": lambda: start_django(args, workdir),
        }
        for name in wanted:
            began = time.perf_counter()
            server = starters[name]()
            servers.append(server)
            print(f"{server.name}: {args.users} users in {time.perf_counter() - began:.0f} s")
        results: dict[str, dict[str, Measured]] = {s.name: {} for s in servers}
        for kind in kinds:
            for server in servers:
                results[server.name][kind] = run_wrk(server, kind, args, workdir)
        report(args, servers, kinds, results)
    finally:
        for server in servers:
            server.stop()
            for database in server.cleanup:
                drop_pg_database(str(database))
        shutil.rmtree(workdir, ignore_errors=True)


def report(
    args: argparse.Namespace,
    servers: list[Server],
    kinds: list[str],
    results: dict[str, dict[str, Measured]],
) -> None:
    load = os.getloadavg()
    print(
        f"\n{args.users} users, {args.engine}, Scimitar --workers {args.workers}, "
        f"wrk -t1 -c{args.connections} -d{args.seconds}s (writes {args.write_seconds}s), load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
    )
    names = [s.name for s in servers]
    print("| request | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    ours = results.get("Scimitar")
    for kind in kinds:
        cells = []
        for name in names:
            measured = results[name][kind]
            cell = f"{measured.rate:,.0f}/s".replace(",", " ")
            if ours is not None and name != "Scimitar" and measured.rate:
                cell += f" ({ours[kind].rate / measured.rate:.1f}×)"
            if measured.errors:
                cell += f" [{measured.errors} non-2xx of {measured.requests}]"
            cells.append(cell)
        print(f"| {LABELS[kind]} | " + " | ".join(cells) + " |")
    adds = args.users * 2 // 5
    supply = {"group_add": adds, "deactivate": args.users - adds}
    for name in names:
        for kind, users in supply.items():
            done = results[name].get(kind)
            if done is not None and done.requests > users:
                print(f"note: {name} ran {done.requests} {kind} for {users} users (repeats)")


if __name__ == "__main__":
    main()
