"""Group membership under concurrency, through a live server on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
from sqlalchemy import select

from scimitar.storage.database import Database
from scimitar.storage.tables import group_members, members
from tests.faces.scim.harness import live_server, make_org

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def run_together(jobs: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(jobs))

    def start(job: Callable[[], None]) -> None:
        barrier.wait()
        job()

    threads = [threading.Thread(target=start, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_twenty_clients_adding_disjoint_members_lose_none(db_url: str) -> None:
    """20 concurrent PATCHes, each adding 5 different members to one group: all 100 stay."""
    db = Database(db_url)
    _, key = make_org(db)
    with live_server(db) as base:
        client = httpx.Client(
            base_url=f"{base}/scim", headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        ids = [
            client.post("/Users", json={"userName": f"c{i}@example.com"}).json()["id"]
            for i in range(100)
        ]
        group = client.post("/Groups", json={"displayName": "Crowd"}).json()["id"]
        statuses: list[int] = []

        def add(batch: list[str]) -> Callable[[], None]:
            def job() -> None:
                body = {
                    "schemas": [PATCH],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": m} for m in batch]}
                    ],
                }
                statuses.append(
                    httpx.patch(
                        f"{base}/scim/Groups/{group}",
                        json=body,
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=60,
                    ).status_code
                )

            return job

        run_together([add(ids[i : i + 5]) for i in range(0, 100, 5)])
        listed = client.get(f"/Groups/{group}").json()
    assert statuses == [204] * 20
    assert sorted(m["value"] for m in listed["members"]) == sorted(ids)
    db.dispose()


def test_add_and_deactivate_race_never_leaves_a_deactivated_member(db_url: str) -> None:
    """A member added to a group while being deactivated ends member-and-active or not a
    member — never a deactivated member of a group."""
    db = Database(db_url)
    _, key = make_org(db)
    headers = {"Authorization": f"Bearer {key}"}
    with live_server(db) as base:
        client = httpx.Client(base_url=f"{base}/scim", headers=headers, timeout=60)
        group = client.post("/Groups", json={"displayName": "Race"}).json()["id"]
        for round_ in range(15):
            user = client.post("/Users", json={"userName": f"r{round_}@example.com"}).json()["id"]
            add = {
                "schemas": [PATCH],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
            }
            deactivate = {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            }
            run_together(
                [
                    lambda add=add: httpx.patch(
                        f"{base}/scim/Groups/{group}", json=add, headers=headers, timeout=60
                    ),
                    lambda user=user, deactivate=deactivate: httpx.patch(
                        f"{base}/scim/Users/{user}", json=deactivate, headers=headers, timeout=60
                    ),
                ]
            )
    with db.read() as conn:
        bad = conn.execute(
            select(members.c.user_name)
            .join(group_members, group_members.c.member_id == members.c.id)
            .where(members.c.active.is_(False))
        ).all()
        inactive = conn.execute(select(members.c.id).where(members.c.active.is_(False))).all()
    assert len(inactive) == 15
    assert bad == []
    db.dispose()
