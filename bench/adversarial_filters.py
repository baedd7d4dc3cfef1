"""Benchmark: adversarial SCIM filters at 20 000 users, on SQLite and PostgreSQL.

    .venv/bin/python bench/adversarial_filters.py [--users 20000] [--engines sqlite,postgresql]
                                                  [--pg-server URL] [--repeat 2]

Seeds one org (users with three emails, two phone numbers, an address, a title, two groups
each) straight into the tables, next to a second org of the same size that no filter may
read, then sends each filter through the SCIM API in process
(`POST /scim/Users/.search`, or `/Groups/.search`) and prints the best of `--repeat`
timings, the status and the number of results. The statement time limit is off, so a slow
filter shows its whole time. Acceptance (PRODUCT.md §8): every filter the parser accepts
answers in under a second; a filter the cost model refuses answers 400 at once.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx, new_id
from scimitar.domain.directory import organizations
from scimitar.domain.identity import keys
from scimitar.faces.app import create_app
from scimitar.protocol.filter import MAX_FILTER_NODES
from scimitar.protocol.schema import CORE_USER
from scimitar.storage.database import Database
from scimitar.storage.tables import group_members, groups, member_emails, members

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GROUPS = 50


def _chain(template: str, joiner: str, terms: int) -> str:
    return f" {joiner} ".join(template.format(n=n) for n in range(terms))


def _user_filters() -> list[str]:
    limit = MAX_FILTER_NODES
    return [
        # Issue #12's three.
        'not (emails[type eq "work" and value co "@"])',
        'emails.value co "1" or emails.value co "2"',
        _chain('emails.value co "{n}"', "or", 100),
        # Chains as long as the cost model admits (cost.MAX_COST = 400 units), and one past.
        _chain('emails co "x{n}"', "or", 120),
        _chain('emails co "x{n}"', "or", 121),
        _chain('emails sw "u{n}" or emails ew "{n}.org"', "or", 60),
        _chain('not (emails co "{n}")', "and", 120),
        _chain('userName co "{n}"', "or", limit),
        _chain('title co "{n}"', "or", limit),
        _chain('phoneNumbers co "{n}"', "or", 116),
        _chain('emails eq "{n}@x"', "and", 100),
        _chain('not (emails eq "{n}@x")', "or", 100),
        _chain('emails.value co "{n}"', "and", 9),
        _chain('emails.value co "{n}"', "and", 10),
        _chain('not (emails.value co "{n}")', "or", 9),
        _chain('phoneNumbers.value co "{n}"', "and", 7),
        _chain('not (addresses[locality co "{n}"])', "or", 7),
        # Nested not/or over multi-valued attributes, value paths.
        'not (emails.value co "1" or not (phoneNumbers.value co "5"))',
        'not (not (emails[type eq "home" and value ew ".org"]) and not (groups pr))',
        'emails[type eq "home" and value ew ".org"] or phoneNumbers[type eq "mobile" and value sw "555"]',
        'not (emails[not (type eq "work") and value co "9"]) and not (phoneNumbers[value co "99"])',
        'emails[value co "1" or value co "2" or not (type eq "home")] and title pr',
        'groups[display sw "group 1"] or not (groups.value eq "nope")',
        # pr on multi-valued attributes.
        "emails pr and phoneNumbers pr and addresses pr and groups pr",
        "not (emails pr) or not (phoneNumbers pr) or not (addresses pr) or not (groups pr)",
        # Dates.
        'meta.created gt "2024-01-05T00:00:00Z" and meta.lastModified lt "2024-03-01T00:00:00Z"',
        'not (meta.created gt "2024-01-05T00:00:00Z") or meta.lastModified ge "2024-02-01T00:00:00+02:00"',
        # The lookups identity providers send (must stay fast).
        'userName eq "user12345@example.com"',
        'emails.value eq "user12345@example.com"',
        'emails[type eq "work"].value eq "user12345@example.com"',
        'externalId eq "ext-12345"',
    ]


def _group_filters() -> list[str]:
    return [
        'members[value eq "nope"] or not (members pr)',
        _chain('not (members.value eq "m{n}")', "or", 100),
        _chain('members[value co "{n}"]', "and", 9),
        'displayName co "1" or members pr',
    ]


def _user_rows(org_id: str, count: int, tag: str) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    for n in range(count):
        member_id, name = new_id(), f"user{n}@example.com"
        emails = [
            {"value": name, "type": "work", "primary": True},
            {"value": f"u{n}@home{n % 97}.org", "type": "home"},
            {"value": f"{tag}{n}@other.example.net", "type": "other"},
        ]
        document = {
            "schemas": [CORE_USER],
            "userName": name,
            "externalId": f"ext-{n}",
            "name": {"givenName": f"G{n}", "familyName": f"F{n}"},
            "displayName": f"G{n} F{n}",
            "title": f"t{n % 1000}",
            "emails": emails,
            "phoneNumbers": [
                {"value": f"555-{n:06d}", "type": "work"},
                {"value": f"555-9{n:05d}", "type": "mobile"},
            ],
            "addresses": [{"type": "work", "locality": f"City {n % 50}", "country": "US"}],
        }
        moment = T0 + timedelta(minutes=7 * n)
        row = {
            "id": member_id,
            "org_id": org_id,
            "user_name": name,
            "user_name_key": name,
            "external_id": f"ext-{n}",
            "display_name": f"G{n} F{n}",
            "display_name_key": f"g{n} f{n}",
            "given_name_key": f"g{n}",
            "family_name_key": f"f{n}",
            "active": True,
            "org_role": "Member",
            "source": "scim",
            "attributes": document,
            "version": 1,
            "created": moment,
            "last_modified": moment,
        }
        rows = [
            {
                "member_id": member_id,
                "org_id": org_id,
                "position": position,
                "value": email["value"],
                "value_key": str(email["value"]).lower(),
                "type": email["type"],
                "primary": bool(email.get("primary")),
            }
            for position, email in enumerate(emails)
        ]
        yield row, rows


def seed(db: Database, users: int) -> str:
    """Two orgs of `users` members each; the key of the first."""
    started = time.perf_counter()
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx, name="Bench", slug="bench", owner_email="owner@example.com"
        )
        other = organizations.create_org(
            tx, name="Other", slug="other", owner_email="owner@other.test"
        )
        key = keys.generate_scim_key(tx, org)
    for org_id, tag in ((org.id, "x"), (other.id, "y")):
        group_ids = [new_id() for _ in range(GROUPS)]
        with db.write() as conn:
            conn.execute(
                insert(groups),
                [
                    {
                        "id": group_id,
                        "org_id": org_id,
                        "kind": "custom",
                        "display_name": f"Group {g}",
                        "display_name_key": f"group {g}",
                        "attributes": {},
                        "version": 1,
                        "created": T0,
                        "last_modified": T0,
                    }
                    for g, group_id in enumerate(group_ids)
                ],
            )
        batch: list[dict[str, Any]] = []
        emails: list[dict[str, Any]] = []
        for row, email_rows in _user_rows(org_id, users, tag):
            batch.append(row)
            emails += email_rows
            if len(batch) == 2000:
                _insert(db, batch, emails, group_ids)
                batch, emails = [], []
        if batch:
            _insert(db, batch, emails, group_ids)
    with db.write() as conn:
        conn.execute(text("ANALYZE"))
    print(f"seeded 2 orgs of {users} users in {time.perf_counter() - started:.1f} s")
    return key


def _insert(
    db: Database, batch: list[dict[str, Any]], emails: list[dict[str, Any]], group_ids: list[str]
) -> None:
    with db.write() as conn:
        conn.execute(insert(members), batch)
        conn.execute(insert(member_emails), emails)
        memberships = [
            {
                "group_id": group_ids[(i + k * 17) % len(group_ids)],
                "member_id": row["id"],
                "org_id": row["org_id"],
                "added": T0,
            }
            for i, row in enumerate(batch)
            for k in range(2)
        ]
        conn.execute(insert(group_members), memberships)


def measure(client: TestClient, key: str, resource: str, filter_text: str, repeat: int) -> None:
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": filter_text,
            "count": 10,
        }
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
    best, status, found = float("inf"), 0, "-"
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.post(f"/scim/{resource}/.search", content=body, headers=headers)
        best = min(best, time.perf_counter() - began)
        status = response.status_code
        payload = response.json()
        found = str(payload.get("totalResults", payload.get("detail", "")))[:60]
    shown = (
        filter_text if len(filter_text) <= 90 else f"{filter_text[:70]}… ({len(filter_text)} chars)"
    )
    flag = "" if best < 1 else "  !! over 1 s"
    print(f"{best * 1000:9.1f} ms  {status}  {found:<12} {resource}: {shown}{flag}")


@contextmanager
def database(engine: str, pg_server: str) -> Iterator[str]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="scimitar-adversarial-") as workdir:
            yield f"sqlite:///{Path(workdir) / 'bench.db'}"
        return
    name = f"scimitar_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", help="run only the filters containing this text")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        with database(engine, args.pg_server) as url:
            db = Database(url)
            db.migrate()
            key = seed(db, args.users)
            settings = Settings(database_url=url, statement_timeout_ms=0)
            print(f"{engine}: {args.users} users per org, best of {args.repeat}")
            with TestClient(create_app(settings, db=db)) as client:
                for resource, filters in (("Users", _user_filters()), ("Groups", _group_filters())):
                    for filter_text in filters:
                        if args.only and args.only not in filter_text:
                            continue
                        measure(client, key, resource, filter_text, args.repeat)
            db.dispose()


if __name__ == "__main__":
    main()
