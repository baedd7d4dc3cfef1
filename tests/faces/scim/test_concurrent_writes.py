"""Concurrent SCIM writes (on SQLite they share transactions: `storage.group_commit`):
each answered for itself, each with its own audit entry, events and log entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.events import feed
from scimitar.domain.records import provisioning
from scimitar.faces.app import create_app
from scimitar.faces.scim.api import LIGHT_BODY, ScimApi, ScimRoute, _Who
from scimitar.faces.scim.call import Call
from scimitar.protocol.errors import ScimError
from scimitar.storage.database import Database
from scimitar.storage.group_commit import BatchInterrupted
from tests.faces.scim.harness import PUBLIC_URL, make_org

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _user(name: str) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, "active": True}


def test_concurrent_writes_are_answered_and_recorded_each_for_itself(db_url: str) -> None:
    """Creates (two of them for one userName: exactly one wins), and deactivations of
    members created before, sent at once, in rounds."""
    db = Database(db_url)
    org, key = make_org(db)
    app = create_app(Settings(database_url=db_url, public_url=PUBLIC_URL, scim_rate_limit=0), db=db)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}

    async def run() -> list[list[httpx.Response]]:
        rounds = []
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client,
        ):
            for r in range(3):
                earlier = [
                    (
                        await client.post(
                            "/scim/Users", json=_user(f"e{r}-{i}@example.com"), headers=headers
                        )
                    ).json()["id"]
                    for i in range(3)
                ]
                sends = [
                    client.post("/scim/Users", json=_user(f"u{r}-{i}@example.com"), headers=headers)
                    for i in range(5)
                ]
                sends += [
                    client.post("/scim/Users", json=_user(f"same{r}@example.com"), headers=headers)
                    for _ in range(2)
                ]
                body = {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                }
                sends += [
                    client.patch(
                        f"/scim/Users/{member_id}", content=orjson.dumps(body), headers=headers
                    )
                    for member_id in earlier
                ]
                rounds.append(list(await asyncio.gather(*sends)))
        return rounds

    rounds = asyncio.run(run())
    for answers in rounds:
        creates, same, deactivations = answers[:5], answers[5:7], answers[7:]
        assert [a.status_code for a in creates] == [201] * 5
        assert sorted(a.status_code for a in same) == [201, 409]
        assert [a.status_code for a in deactivations] == [200] * 3
        assert all(a.json()["active"] is False for a in deactivations)
    with db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        logged = provisioning.recent_requests(tx, org, limit=200)
        written = [e for e in logged if e.status in (200, 201)]
        assert len(written) == 3 * (3 + 5 + 1 + 3)
        for entry in written:
            events = feed.events_of_request(tx, org, entry.id)
            expected = "member.created" if entry.method == "POST" else "member.deactivated"
            assert [e.type for e in events] == [expected], entry
        created = [e for e in written if e.method == "POST"]
        ids = {feed.events_of_request(tx, org, e.id)[0].resource_id for e in created}
        assert len(ids) == len(created)
        refused = [e for e in logged if e.status == 409]
        assert len(refused) == 3
        assert all(not feed.events_of_request(tx, org, e.id) for e in refused)
        audited = conn.exec_driver_sql(
            "SELECT count(*) FROM audit_log WHERE actor_kind = 'scim_key' "
            "AND action IN ('member.created', 'member.deactivated')"
        ).scalar()
        assert audited == 3 * (3 + 5 + 1 + 3)
    db.dispose()


def test_only_a_users_small_writes_run_on_the_event_loop(tmp_path: Path) -> None:
    """On SQLite a user's write with a small body runs on the event loop
    (`storage.group_commit`); one with a large body, or sent in chunks (no declared
    length), and a group's write (it may touch every member of the group) run in a thread."""
    url = f"sqlite:///{tmp_path / 'scimitar.db'}"
    db = Database(url)
    db.migrate()
    _org, key = make_org(db)
    app = create_app(Settings(database_url=url, public_url=PUBLIC_URL, scim_rate_limit=0), db=db)
    writes = next(r for r in app.router.routes if isinstance(r, ScimRoute)).api.writes
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
    moved: list[tuple[str, tuple[int, int]]] = []

    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        yield body

    async def run() -> None:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
            ) as client,
        ):

            async def send(what: str, *args: Any, **kwargs: Any) -> httpx.Response:
                before = (writes.inline, writes.threaded)
                response = await client.request(*args, headers=headers, **kwargs)
                moved.append((what, (writes.inline - before[0], writes.threaded - before[1])))
                assert response.status_code < 300, response.text
                return response

            small = orjson.dumps(_user("small@example.com"))
            member = (await send("small create", "POST", "/scim/Users", content=small)).json()
            padded = orjson.dumps(_user("large@example.com")) + b" " * LIGHT_BODY
            await send("large create", "POST", "/scim/Users", content=padded)
            chunked = chunks(orjson.dumps(_user("chunked@example.com")))
            await send("chunked create", "POST", "/scim/Users", content=chunked)
            group = (
                await send(
                    "group create",
                    "POST",
                    "/scim/Groups",
                    json={"schemas": [GROUP], "displayName": "Engineering"},
                )
            ).json()
            add = {
                "schemas": [PATCH],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": member["id"]}]}
                ],
            }
            await send("group add", "PATCH", f"/scim/Groups/{group['id']}", json=add)
            await send("user delete", "DELETE", f"/scim/Users/{member['id']}")

    asyncio.run(run())
    on_the_loop, in_a_thread = (1, 0), (0, 1)
    assert moved == [
        ("small create", on_the_loop),
        ("large create", in_a_thread),
        ("chunked create", in_a_thread),
        ("group create", in_a_thread),
        ("group add", in_a_thread),
        ("user delete", on_the_loop),
    ]
    db.dispose()


def test_a_write_undone_with_its_batch_is_answered_503_to_send_again() -> None:
    """`BatchInterrupted` (nothing of the write kept through no fault of its own) is a 503,
    which IdPs retry, logged for the org and key the write acted for; not a 500."""
    call = Call("POST", "/scim/Users", f"{PUBLIC_URL}/scim", {}, {}, {})
    who = _Who()
    who.org_id, who.key_id = "org", "key"
    outcome, org_id, key_id = ScimApi._failed(BatchInterrupted("send it again"), call, who)
    assert (outcome.status, org_id, key_id) == (503, "org", "key")
    assert isinstance(outcome.body, ScimError) and outcome.body.detail == "send it again"
