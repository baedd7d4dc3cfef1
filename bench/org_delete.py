"""Benchmark: how long `DELETE /api/v1/orgs/{slug}` holds its one transaction.

    .venv/bin/python bench/org_delete.py [--database-url URL] [--members 10000]

Fills an org with `--members` members (each in a role group and with its events), a second
org of the same size beside it, then times the deletion of the first through the domain
(`tenants.delete_org`, the whole transaction, commit included). Default database: a fresh
SQLite file; pass a PostgreSQL URL (an empty database) to measure that engine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, organizations, people, structure, tenants
from scimitar.domain.models import GroupKind, Org
from scimitar.storage.database import Database


def fill(db: Database, slug: str, count: int) -> Org:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx, name=slug, slug=slug, owner_email=f"owner@{slug}.example"
        )
        structure.create_project(tx, org, "Web")
    for start in range(0, count, 1000):
        with db.write() as conn:
            tx = Tx(conn, CLI_ACTOR)
            group = next(g for g in group_store.list_groups(tx, org) if g.kind is GroupKind.ROLE)
            made = [
                people.create_member(
                    tx,
                    org,
                    {
                        "userName": f"u{i}@{slug}.example",
                        "emails": [{"value": f"u{i}@{slug}.example"}],
                    },
                )
                for i in range(start, min(start + 1000, count))
            ]
            group_store.add_members(tx, org, group, [m.id for m in made])
    return org


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db = Database(url)
    db.migrate()
    doomed = fill(db, "doomed", args.members)
    fill(db, "kept", args.members)
    started = time.perf_counter()
    with db.write() as conn:
        held = tenants.delete_org(Tx(conn, CLI_ACTOR), doomed)
    elapsed = time.perf_counter() - started
    print(
        f"{db.engine.dialect.name}: deleted an org of {held['members']} members in {elapsed:.2f} s"
    )
    db.dispose()


if __name__ == "__main__":
    main()
