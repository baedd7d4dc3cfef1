"""Dry run: SCIM writes are answered as in live mode, logged with the changes they would
make, and rolled back; and grant previews change nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from scimitar.domain.access import grants
from scimitar.domain.access.preview import preview_grant_change
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, organizations, people, structure
from scimitar.domain.events import feed
from scimitar.domain.models import Grant, GroupKind
from scimitar.storage.database import Database
from scimitar.storage.tables import metadata, provisioning_log
from tests.domain.events.helpers import feed_of, last, write
from tests.domain.helpers import make_member, make_org
from tests.faces.scim.harness import FIXTURES, Scim, replay

OKTA_FLOWS = ["okta-crud-user-lifecycle.json", "okta-push-groups.json", "okta-import.json"]


def everything_but_the_log(db: Database) -> dict[str, list[Any]]:
    """Every row of every table except the provisioning log (and a key's `last_used`,
    which records that the key was used, dry run or not)."""
    state: dict[str, list[Any]] = {}
    with db.read() as conn:
        for table in metadata.sorted_tables:
            if table.name == "provisioning_log":
                continue
            columns = [c for c in table.columns if c.name != "last_used"]
            rows = conn.execute(select(*columns)).all()
            state[table.name] = sorted(repr(tuple(row)) for row in rows)
    return state


def log_entries(scim: Scim) -> list[Any]:
    scim.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    with scim.db.read() as conn:
        query = select(provisioning_log).order_by(provisioning_log.c.id)
        return list(conn.execute(query.where(provisioning_log.c.org_id == scim.org.id)))


def set_mode(db: Database, scim: Scim, mode: str) -> None:
    with write(db) as tx:
        organizations.update_settings(tx, scim.org, provisioning_mode=mode)


@pytest.fixture
def dry(scim: Scim) -> Scim:
    set_mode(scim.db, scim, "dry_run")
    return scim


@pytest.mark.parametrize("flow_file", OKTA_FLOWS)
def test_okta_flow_in_dry_run_changes_nothing_but_the_log(dry: Scim, flow_file: str) -> None:
    """Replaying an Okta flow in dry run leaves every table as it was except the log,
    which shows each write with the events it would have produced."""
    before = everything_but_the_log(dry.db)
    flow = json.loads((FIXTURES / flow_file).read_text())
    # Later steps fail (what they build on was never committed); ids they would have saved
    # from a failed step get stand-ins so that every request is still sent.
    saved = {name: str(uuid.uuid4()) for step in flow["steps"] for name in step.get("save", {})}
    failures = replay(dry, {**flow, "variables": {**saved, **flow.get("variables", {})}})
    assert not [f for f in failures if "server error" in f or "status 5" in f], failures
    assert everything_but_the_log(dry.db) == before
    # Failed writes change nothing in either mode and are logged as failures.
    writes = [e for e in log_entries(dry) if e.method != "GET" and e.status < 400]
    assert writes and all(e.dry_run for e in writes)
    created = [e for e in writes if e.method == "POST" and e.path.endswith("/Users")]
    for entry in created:
        assert entry.status == 201
        assert [c["type"] for c in entry.changes] == ["member.created"]
        assert entry.changes[0]["data"]["userName"] == json.loads(entry.request_body)["userName"]


def test_dry_run_push_on_existing_members_logs_what_would_change(dry: Scim) -> None:
    """Group push and deactivation over live data: answered, logged with the would-be
    membership, access and deactivation events, committed nowhere."""
    with write(dry.db) as tx:
        structure.create_project(tx, dry.org, "Checkout")
        member = make_member(tx, dry.org, "ann@example.com")
        group = group_store.find_group(tx, dry.org, "Scimitar-Checkout-Admin")
        assert group is not None
    before = everything_but_the_log(dry.db)
    seq = last(dry.db, dry.org)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": member.id}]}],
    }
    assert dry.request("PATCH", f"/Groups/{group.id}", patch).status_code == 204
    deactivate = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    response = dry.request("PATCH", f"/Users/{member.id}", deactivate)
    assert response.status_code == 200 and response.json()["active"] is False
    assert everything_but_the_log(dry.db) == before
    assert last(dry.db, dry.org) == seq
    add, deactivated = [e for e in log_entries(dry) if e.method == "PATCH"]
    assert [c["type"] for c in add.changes] == ["group.member_added", "access.changed"]
    assert add.changes[1]["data"]["after"] == {"role": "Admin", "custom_roles": []}
    assert [c["type"] for c in deactivated.changes] == ["member.deactivated"]


def test_live_mode_links_log_entries_to_their_events(scim: Scim) -> None:
    """A live write's log entry links to the events it produced; a failed one has none."""
    body = {"userName": "linked@example.com", "emails": [{"value": "linked@example.com"}]}
    created = scim.request("POST", "/Users", body)
    assert created.status_code == 201
    assert scim.request("POST", "/Users", body).status_code == 409
    ok, conflict = [e for e in log_entries(scim) if e.method == "POST"]
    assert not ok.dry_run and ok.changes is None and conflict.status == 409
    with scim.db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        linked = feed.events_of_request(tx, scim.org, ok.id)
        assert feed.events_of_request(tx, scim.org, conflict.id) == []
    assert [e.type for e in linked] == ["member.created"]
    assert linked[0].resource_id == created.json()["id"]


def test_grant_preview_reports_changes_and_leaves_nothing(db: Database) -> None:
    """The preview names exactly the members whose access would change; no grant, audit
    entry or event is left behind."""
    with write(db) as tx:
        org = make_org(tx)
        project = structure.create_project(tx, org, "Checkout")
        admin = structure.find_role(tx, org, "Admin")
        ann = make_member(tx, org, "ann@example.com")
        bob = make_member(tx, org, "bob@example.com")
        engineering = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
        group_store.add_members(tx, org, engineering, [ann.id, bob.id])
        admins = group_store.find_group(tx, org, "Scimitar-Checkout-Admin")
        assert admins is not None
        group_store.add_members(tx, org, admins, [bob.id])
    before = everything_but_the_log(db)
    seq = last(db, org)
    with write(db) as tx:
        changes = preview_grant_change(
            tx, org, engineering, Grant(project.id, role_id=admin.id), "add"
        )
        assert feed.pending(tx) == []
    assert [(c["userName"], c["before"], c["after"]["role"]) for c in changes] == [
        ("ann@example.com", None, "Admin")
    ]
    assert everything_but_the_log(db) == before and last(db, org) == seq
    with write(db) as tx:
        grant_id = group_store.add_grant(tx, org, engineering, Grant(project.id, role_id=admin.id))
    with write(db) as tx:
        removal = preview_grant_change(tx, org, engineering, grant_id, "remove")
    assert [(c["member_id"], c["after"]) for c in removal] == [(ann.id, None)]
    assert [e.type for e in feed_of(db, org, after=seq)][:1] == ["group.grant_added"]
    with write(db) as tx:
        assert len(grants.grants_of(tx, engineering)) == 1
        assert people.get_member(tx, org, ann.id).active
