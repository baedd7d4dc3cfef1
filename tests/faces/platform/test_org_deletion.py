"""DELETE /orgs/{slug} removes the org and everything in it, in one transaction, and
nothing of any other org."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select

from scimitar.domain.context import CLI_ACTOR, SYSTEM_ACTOR, Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.events import deliveries, webhooks
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.events.deliveries import Result, RetryPolicy
from scimitar.domain.identity import credentials
from scimitar.domain.identity.sealed_secrets import deployment_sealer
from scimitar.storage.database import Database
from scimitar.storage.tables import (
    metadata,
    operator_audit,
    sso_connections,
    sso_states,
    webhook_attempts,
    webhook_deliveries,
)
from tests.faces.admin.helpers import Api, client_for, sign_in
from tests.faces.platform.helpers import Platform
from tests.faces.platform.test_setup_links import open_link
from tests.faces.scim.harness import FIXTURES, Scim, replay

#: Tables with no org_id of their own, and how a row of them belongs to an org.
_DEPLOYMENT_TABLES = {"server_secrets", "operator_tokens", "operator_audit"}


def populate(platform: Platform, slug: str) -> dict[str, Any]:
    """An org created over HTTP with a row in every table an org can have rows in."""
    platform.create_org(slug, owner_name="Olivia Owner")
    op = platform.operator
    token = op.post(f"/orgs/{slug}/api-tokens", {"name": "backend"})["token"]
    api = Api(platform.site.client, {"Authorization": f"Bearer {token}"})
    key = api.post("/scim-key")["secret"]
    db = platform.site.db
    with db.read() as conn:
        org = organizations.get_org_by_slug(Tx(conn, CLI_ACTOR), slug)
    scim = Scim(platform.site.client, db, org, key)
    flow = json.loads((FIXTURES / "okta-push-groups.json").read_text())
    assert not replay(scim, flow)
    project = api.post("/projects", {"name": "Web"})
    team = api.post("/teams", {"project_id": project["id"], "name": "Core"})
    custom = scim.request("POST", "/Groups", {"displayName": "Engineering"}).json()
    roles = {r["name"]: r["id"] for r in api.get("/roles")["roles"]}
    grant = {"project_id": project["id"], "role_id": roles["Admin"]}
    api.post(f"/groups/{custom['id']}/grants", grant)
    member = api.get("/members?q=olivia")["members"][0]
    assignment = {"project_id": project["id"], "team_id": team["id"], "team_role": "Admin"}
    api.post(f"/members/{member['id']}/assignments", assignment)
    api.post("/roles", {"name": "Auditor", "permissions": ["audit.read"]})
    sealer = deployment_sealer(db, None)
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        owner = people.find_member(tx, org, f"owner@{slug}.example")
        assert owner is not None
        credentials.set_password(tx, org, owner, "a long enough password")
        webhooks.create_endpoint(
            tx,
            org,
            "http://127.0.0.1:9/hook",
            allow=AllowList.parse("127.0.0.1"),
            sealer=sealer,
        )
        # An SSO connection and a sign-in in flight (as the console writes them).
        conn.execute(
            insert(sso_connections).values(
                org_id=org.id,
                issuer="https://idp.example.com",
                client_id="scimitar",
                client_secret=sealer.seal("s3cret", context=f"sso:{org.id}"),
                provider={"issuer": "https://idp.example.com"},
                required=False,
                created=tx.now,
                last_modified=tx.now,
            )
        )
        conn.execute(
            insert(sso_states).values(
                state_hash=f"{slug}-state".ljust(64, "0"),
                org_id=org.id,
                browser_hash="b" * 64,
                nonce="n",
                code_verifier="v" * 43,
                test=False,
                expires=tx.now + timedelta(minutes=10),
            )
        )
    api.patch("/rate-limits", {"scim_per_second": 50})
    api.post("/projects", {"name": "Api"})  # an event after the endpoint: a delivery
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": member["id"]}]}],
    }
    assert scim.request("PATCH", f"/Groups/{custom['id']}", patch).status_code in (200, 204)
    browser = client_for(db)
    assert (
        sign_in(browser, slug, f"owner@{slug}.example", "a long enough password").status_code == 303
    )
    open_link(client_for(db), op.post(f"/orgs/{slug}/setup-links")["url"])
    with db.write() as conn:
        tx = Tx(conn, SYSTEM_ACTOR)
        deliveries.fan_out(tx)
        for job in deliveries.claim(tx, limit=5, lease=timedelta(minutes=1)):
            failed = Result(status=None, latency_ms=1, error="refused")
            deliveries.record(tx, job, failed, RetryPolicy())
    return {"org": org}


def _rows_of(db: Database, org_id: str) -> dict[str, int]:
    """How many rows of each table belong to the org (every table of the metadata)."""
    counts: dict[str, int] = {}
    with db.read() as conn:
        org_deliveries = select(webhook_deliveries.c.id).where(
            webhook_deliveries.c.org_id == org_id
        )
        for table in metadata.sorted_tables:
            if table.name in _DEPLOYMENT_TABLES:
                continue
            query = select(func.count()).select_from(table)
            if "org_id" in table.c:
                query = query.where(table.c.org_id == org_id)
            elif table.name == "orgs":
                query = query.where(table.c.id == org_id)
            elif table is webhook_attempts:
                # Seen through the deliveries; counted before they go, below.
                query = query.where(table.c.delivery_id.in_(org_deliveries))
            else:
                raise AssertionError(f"{table.name}: how does a row belong to an org?")
            counts[table.name] = int(conn.execute(query).scalar_one())
    return counts


def _attempts_of(db: Database, delivery_ids: list[str]) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(webhook_attempts)
        query = query.where(webhook_attempts.c.delivery_id.in_(delivery_ids))
        return int(conn.execute(query).scalar_one())


def _delivery_ids(db: Database, org_id: str) -> list[str]:
    with db.read() as conn:
        query = select(webhook_deliveries.c.id).where(webhook_deliveries.c.org_id == org_id)
        return list(conn.execute(query).scalars())


def test_deleting_an_org_leaves_no_row_of_it(platform: Platform) -> None:
    """After DELETE /orgs/{slug}, no table holds a row of the org (the operator audit
    trail aside), and a second org populated the same way keeps every row."""
    doomed = populate(platform, "doomed")["org"]
    kept = populate(platform, "kept")["org"]
    db = platform.site.db
    before = _rows_of(db, doomed.id)
    empty = sorted(name for name, count in before.items() if count == 0)
    assert not empty, f"the test should fill every table: {empty}"
    doomed_deliveries = _delivery_ids(db, doomed.id)
    assert _attempts_of(db, doomed_deliveries) > 0
    # The reads' log entries are written in batches (`BatchedLog`): all of them now, so
    # that none lands between the two counts.
    platform.site.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    kept_before = _rows_of(db, kept.id)
    platform.operator.delete("/orgs/doomed")
    assert set(_rows_of(db, doomed.id).values()) == {0}
    assert _attempts_of(db, doomed_deliveries) == 0
    assert _rows_of(db, kept.id) == kept_before
    with db.read() as conn:
        trail = conn.execute(
            select(operator_audit.c.action).where(operator_audit.c.org_id == doomed.id)
        ).scalars()
        assert "org.deleted" in list(trail)


def test_every_table_is_known(platform: Platform) -> None:
    """Every table either belongs to the deployment or leads to an org (so the deletion
    test above covers it)."""
    tables: list[Table] = list(metadata.sorted_tables)
    for table in tables:
        assert (
            table.name in _DEPLOYMENT_TABLES
            or "org_id" in table.c
            or table.name == "orgs"
            or table is webhook_attempts
        ), table.name
