"""Long fuzzing run: tens of thousands of generated requests per engine, 0 × 5xx expected.

    .venv/bin/python bench/fuzz.py [--database-url URL ...] [--scim 15000] [--admin-examples 200]

Per engine (default: a fresh SQLite file and, if reachable, a fresh PostgreSQL database on
127.0.0.1:5432), through the ASGI app in process:
1. SCIM: `--scim` requests drawn from the strategies of tests/scim/test_fuzz.py (filters,
   PATCH operations, POST/PUT bodies, raw bytes, query parameters), each checked to be
   < 500 with a SCIM error body;
2. admin API: schemathesis against /api/v1/openapi.json (tests/edge/api_fuzz.py),
   `--admin-examples` valid and as many invalid requests per operation, each checked for
   no 5xx and conformance to the document.
Prints the counts by status and every failure; exits 1 on any.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from scimitar.storage.database import Database
from tests.edge.api_fuzz import fuzz_admin_api
from tests.faces.admin.helpers import make_site
from tests.faces.scim.test_fuzz import FILTER_WORDS, json_values, operations

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def scim_fuzz(site: Any, total: int) -> tuple[collections.Counter[int], list[str]]:
    """`total` requests to /scim from the SCIM fuzzers' strategies."""
    client = site.client
    auth = {"Authorization": f"Bearer {site.scim_key}"}
    user = client.post("/scim/Users", json={"userName": "fuzz@example.com"}, headers=auth).json()
    group = client.post("/scim/Groups", json={"displayName": "Fuzz"}, headers=auth).json()
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[str] = []
    scim_json = {**auth, "Content-Type": "application/scim+json"}

    def record(method: str, path: str, response: Any) -> None:
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{method} {path}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400:
            body = response.json()
            if body.get("status") != str(response.status_code) or not body.get("detail"):
                failures.append(f"{method} {path}: not a SCIM error body: {response.text[:300]}")

    filters = st.lists(st.sampled_from(FILTER_WORDS), max_size=12).map(" ".join) | st.text(
        max_size=60
    )
    patch = st.builds(
        lambda ops: {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        },
        operations,
    )
    query = st.dictionaries(
        st.sampled_from(["startIndex", "count", "sortBy", "sortOrder", "attributes", "filter"]),
        st.text(max_size=20),
        max_size=5,
    )
    request = st.one_of(
        st.tuples(st.just("filter"), filters),
        st.tuples(st.just("patch"), patch),
        st.tuples(st.just("body"), json_values),
        st.tuples(st.just("raw"), st.binary(max_size=200)),
        st.tuples(st.just("query"), query),
    )

    @settings(
        max_examples=total,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(request)
    def send(drawn: tuple[str, Any]) -> None:
        kind, value = drawn
        if kind == "filter":
            resource = "Users" if statuses.total() % 2 else "Groups"
            path = f"/scim/{resource}"
            record("GET", path, client.get(path, params={"filter": value}, headers=auth))
        elif kind == "patch":
            target = (
                f"/scim/Users/{user['id']}"
                if statuses.total() % 2
                else f"/scim/Groups/{group['id']}"
            )
            record(
                "PATCH", target, client.patch(target, content=json.dumps(value), headers=scim_json)
            )
        elif kind == "body":
            path = "/scim/Users" if statuses.total() % 2 else "/scim/Groups"
            record("POST", path, client.post(path, content=json.dumps(value), headers=scim_json))
        elif kind == "raw":
            record(
                "POST", "/scim/Users", client.post("/scim/Users", content=value, headers=scim_json)
            )
        else:
            record("GET", "/scim/Users", client.get("/scim/Users", params=value, headers=auth))

    while statuses.total() < total:  # hypothesis may stop early when it runs out of ideas
        send()
    return statuses, failures


def engines(urls: list[str]) -> list[tuple[str, str, Any]]:
    """(label, url, cleanup) per engine to fuzz: fresh databases by default."""
    if urls:
        return [(url.split(":")[0], url, None) for url in urls]
    found: list[tuple[str, str, Any]] = []
    folder = Path(tempfile.mkdtemp())
    found.append(("sqlite", f"sqlite:///{folder}/fuzz.db", None))
    try:
        admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        name = f"scimitar_fuzz_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        found.append(("postgresql", PG_SERVER.rsplit("/", 1)[0] + "/" + name, drop))
    except Exception as exc:
        print(f"PostgreSQL not reachable ({exc}); SQLite only")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", action="append", default=[])
    parser.add_argument("--scim", type=int, default=15_000)
    parser.add_argument("--admin-examples", type=int, default=200)
    args = parser.parse_args()
    failed = False
    for label, url, cleanup in engines(args.database_url):
        db = Database(url)
        db.migrate()
        site = make_site(db)
        started = time.perf_counter()
        with site.client:
            scim_statuses, scim_failures = scim_fuzz(site, args.scim)
            tally = fuzz_admin_api(site.client.app, site.token, args.admin_examples)
        elapsed = time.perf_counter() - started
        db.dispose()
        if cleanup is not None:
            cleanup()
        total = scim_statuses.total() + tally.requests
        server_errors = sum(n for s, n in scim_statuses.items() if s >= 500) + sum(
            n for s, n in tally.statuses.items() if s >= 500
        )
        print(f"== {label}: {total} requests in {elapsed:.0f} s, {server_errors} x 5xx")
        print(f"   SCIM  {scim_statuses.total():6d}  {dict(sorted(scim_statuses.items()))}")
        print(f"   admin {tally.requests:6d}  {dict(sorted(tally.statuses.items()))}")
        for failure in [*scim_failures, *sorted(tally.failures)]:
            failed = True
            print("   FAIL", failure)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
