"""The change feed: each domain change writes exactly its documented events, in order, in
the transaction of the change."""

from __future__ import annotations

import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_kinds, group_store, organizations, people, structure
from scimitar.domain.errors import ConflictError, PolicyError
from scimitar.domain.events import feed
from scimitar.domain.identity import keys
from scimitar.domain.models import GroupKind, Org, OrgRole
from scimitar.storage.database import Database
from tests.domain.events.helpers import feed_of, last, types, write
from tests.domain.helpers import make_member, make_org, user_doc


def test_org_creation_starts_the_feed_at_one(db: Database) -> None:
    """A new org's feed starts at seq 1: org.created, then its Owner's member.created."""
    with write(db) as tx:
        org = make_org(tx)
    found = feed_of(db, org)
    assert types(found) == ["org.created", "member.created"]
    assert [e.seq for e in found] == [1, 2]
    assert found[1].data["urn:ietf:params:scim:schemas:extension:scimitar:2.0:User"] == {
        "orgRole": "Owner"
    }
    assert found[1].data["userName"] == "owner@acme.example.com"
    assert found[0].actor == {"kind": "cli", "id": None, "label": "cli"}


def test_member_lifecycle_events_carry_version_state_and_changed_fields(db: Database) -> None:
    """Create, update, deactivate, reactivate, remove: one event each, with the new version."""
    with write(db) as tx:
        org = make_org(tx)
    start = last(db, org)
    with write(db) as tx:
        member = make_member(tx, org, "a@example.com")
    with write(db) as tx:
        doc = people.document(member)
        doc["displayName"] = "Ada"
        member = people.update_member(tx, org, member, doc)
    with write(db) as tx:
        member = people.set_active(tx, org, member, False)
    with write(db) as tx:
        member = people.set_active(tx, org, member, True)
    with write(db) as tx:
        people.remove_member(tx, org, member)
    found = feed_of(db, org, after=start)
    assert types(found) == [
        "member.created",
        "member.updated",
        "member.deactivated",
        "member.reactivated",
        "member.removed",
    ]
    assert [e.seq for e in found] == list(range(start + 1, start + 6))
    assert [e.resource_version for e in found] == [1, 2, 3, 4, 4]
    assert found[1].changed == ["displayName"]
    assert found[1].data["displayName"] == "Ada"
    assert found[2].changed == ["active"] and found[2].data["active"] is False
    assert all(e.member_id == member.id and e.resource_id == member.id for e in found)


def test_org_role_change_emits_updated_then_org_role_changed(db: Database) -> None:
    """An org-role change is a member.updated (changed: orgRole) and a member.org_role_changed."""
    with write(db) as tx:
        org = make_org(tx)
        member = make_member(tx, org, "a@example.com")
    start = last(db, org)
    with write(db) as tx:
        people.set_org_role(tx, org, member, OrgRole.ADMIN)
    found = feed_of(db, org, after=start)
    assert types(found) == ["member.updated", "member.org_role_changed"]
    assert found[0].changed == ["orgRole"]
    assert found[1].data["before"] == "Member" and found[1].data["after"] == "Admin"


def test_ownership_transfer_changes_two_org_roles(db: Database) -> None:
    """Transferring ownership reports both members' new org roles."""
    with write(db) as tx:
        org = make_org(tx)
        owner = people.find_member(tx, org, "owner@acme.example.com")
        assert owner is not None
        heir = make_member(tx, org, "heir@example.com")
    start = last(db, org)
    with write(db) as tx:
        people.transfer_ownership(tx, org, owner, heir)
    found = feed_of(db, org, after=start)
    assert types(found) == [
        "member.updated",
        "member.org_role_changed",
        "member.updated",
        "member.org_role_changed",
    ]
    assert [(e.member_id, e.data.get("after")) for e in found[1::2]] == [
        (owner.id, "Admin"),
        (heir.id, "Owner"),
    ]


def test_custom_group_lifecycle_events(db: Database) -> None:
    """Custom group: created, renamed, members added one event each, removed, deleted."""
    with write(db) as tx:
        org = make_org(tx)
        a = make_member(tx, org, "a@example.com")
        b = make_member(tx, org, "b@example.com")
    start = last(db, org)
    with write(db) as tx:
        group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
        group_store.add_members(tx, org, group, [a.id, b.id])
    with write(db) as tx:
        group = group_store.update_group(tx, org, group, display_name="Eng")
        group_store.remove_members(tx, org, group, [b.id, "not-a-member"])
    with write(db) as tx:
        group_store.clear_members(tx, org, group)
        group_kinds.delete_group(tx, org, group)
    found = feed_of(db, org, after=start)
    assert types(found) == [
        "group.created",
        "group.member_added",
        "group.member_added",
        "group.renamed",
        "group.member_removed",
        "group.member_removed",
        "group.deleted",
    ]
    assert [e.member_id for e in found[1:3]] == [a.id, b.id]
    assert found[3].changed == ["displayName"] and found[3].data["displayName"] == "Eng"
    assert [e.member_id for e in found[4:6]] == [b.id, a.id]


def test_structure_and_key_events(db: Database) -> None:
    """Projects, roles, teams, SCIM keys, API tokens and settings each report their change."""
    with write(db) as tx:
        org = make_org(tx)
    start = last(db, org)
    with write(db) as tx:
        project = structure.create_project(tx, org, "Checkout")
    role_groups = 4  # one per built-in role
    with write(db) as tx:
        project = structure.rename_project(tx, org, project, "Pay")
        role = structure.create_role(tx, org, "Billing", ["billing.read"])
        team = structure.create_team(tx, org, project, "Web")
        structure.delete_team(tx, org, team)
        structure.delete_role(tx, org, role)
        keys.generate_scim_key(tx, org)
        keys.regenerate_scim_key(tx, org)
        keys.deactivate_scim_key(tx, org)
        token, info = keys.create_api_token(tx, org, "ci")
        keys.revoke_api_token(tx, org, info.id)
        organizations.update_settings(tx, org, email_changes="reject")
        structure.delete_project(tx, org, project)
    found = types(feed_of(db, org, after=start))
    expected = ["project.created", *["group.created"] * role_groups]
    expected += ["project.renamed", *["group.renamed"] * role_groups]
    expected += ["role.created", "group.created"]
    expected += ["team.created", "group.created", "group.created"]
    expected += ["group.deleted", "group.deleted", "team.deleted"]
    expected += ["group.deleted", "role.deleted"]
    expected += ["scim_key.generated", "scim_key.regenerated", "scim_key.deactivated"]
    expected += ["api_token.created", "api_token.revoked", "org.updated"]
    expected += [*["group.deleted"] * role_groups, "project.deleted"]
    assert found == expected
    assert token.startswith("sat-")


def test_org_updated_lists_changed_settings(db: Database) -> None:
    """org.updated names the settings that changed."""
    with write(db) as tx:
        org = make_org(tx)
    start = last(db, org)
    with write(db) as tx:
        organizations.update_settings(tx, org, name="Acme Inc", provisioning_mode="dry_run")
    [event] = feed_of(db, org, after=start)
    assert event.type == "org.updated"
    assert event.changed == ["name", "provisioning_mode"]


def test_failed_change_leaves_no_event_and_no_gap(db: Database) -> None:
    """A change that fails is rolled back with its events; the next event takes the next seq."""
    with write(db) as tx:
        org = make_org(tx)
        make_member(tx, org, "a@example.com")
    start = last(db, org)
    with pytest.raises(ConflictError):
        _create_two(db, org, "b@example.com", "A@example.com")
    with pytest.raises(PolicyError):
        _group_then_remove_owner(db, org)
    assert feed_of(db, org, after=start) == []
    with write(db) as tx:
        make_member(tx, org, "c@example.com")
    [event] = feed_of(db, org, after=start)
    assert event.seq == start + 1 and event.data["userName"] == "c@example.com"


def test_rolled_back_transaction_leaves_no_event(db: Database) -> None:
    """A dry-run transaction (rolled back on success) writes nothing, though it queued events."""
    with write(db) as tx:
        org = make_org(tx)
    start = last(db, org)
    with db.write(rollback=True) as conn:
        tx = Tx(conn, CLI_ACTOR)
        make_member(tx, org, "a@example.com")
        assert [e.type for e in feed.pending(tx)] == ["member.created"]
    assert feed_of(db, org, after=start) == []
    assert last(db, org) == start


def _create_two(db: Database, org: Org, first: str, second: str) -> None:
    with write(db) as tx:
        people.create_member(tx, org, user_doc(first))
        people.create_member(tx, org, user_doc(second))


def _group_then_remove_owner(db: Database, org: Org) -> None:
    with write(db) as tx:
        owner = people.find_member(tx, org, "owner@acme.example.com")
        assert owner is not None
        group_store.insert_group(tx, org, GroupKind.CUSTOM, "Doomed")
        people.remove_member(tx, org, owner)
