"""access.changed: whenever a member's effective role in a project changes, whatever the cause."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import effective
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_kinds, group_store, listings, people, structure
from scimitar.domain.events.feed import Event
from scimitar.domain.models import Grant, Group, GroupKind, Member, Org, TeamRole
from scimitar.storage.database import Database
from tests.domain.events.helpers import feed_of, last, types, write
from tests.domain.helpers import make_member, make_org


def _group(tx: Tx, org: Org, name: str) -> Group:
    found = group_store.find_group(tx, org, name)
    assert found is not None
    return found


def _access(found: list[Event]) -> list[tuple[str | None, str, Any, Any]]:
    return [
        (
            e.member_id,
            e.data["project"],
            e.data["before"] and e.data["before"]["role"],
            e.data["after"] and e.data["after"]["role"],
        )
        for e in found
        if e.type == "access.changed"
    ]


def _setup(db: Database) -> tuple[Org, Member, Member]:
    with write(db) as tx:
        org = make_org(tx)
        structure.create_project(tx, org, "Checkout")
        a = make_member(tx, org, "a@example.com")
        b = make_member(tx, org, "b@example.com")
    return org, a, b


def test_role_group_membership_changes_access(db: Database) -> None:
    """Joining a role group gives the role; a stronger group raises it; leaving lowers it."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        member_group = _group(tx, org, "Scimitar-Checkout-Member")
        admin_group = _group(tx, org, "Scimitar-Checkout-Admin")
    start = last(db, org)
    with write(db) as tx:
        group_store.add_members(tx, org, member_group, [a.id])
    with write(db) as tx:
        group_store.add_members(tx, org, admin_group, [a.id])
    with write(db) as tx:
        group_store.remove_members(tx, org, admin_group, [a.id])
    found = feed_of(db, org, after=start)
    assert types(found) == [
        "group.member_added",
        "access.changed",
        "group.member_added",
        "access.changed",
        "group.member_removed",
        "access.changed",
    ]
    assert _access(found) == [
        (a.id, "Checkout", None, "Member"),
        (a.id, "Checkout", "Member", "Admin"),
        (a.id, "Checkout", "Admin", "Member"),
    ]


def test_weaker_second_grant_changes_nothing(db: Database) -> None:
    """A Read-Only group on top of Admin leaves the effective role alone: no access event."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Admin"), [a.id])
    start = last(db, org)
    with write(db) as tx:
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Read-Only"), [a.id])
    assert types(feed_of(db, org, after=start)) == ["group.member_added"]


def test_custom_group_membership_without_grants_changes_nothing(db: Database) -> None:
    """Membership of a custom group without grants gives no access: no access event."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
    start = last(db, org)
    with write(db) as tx:
        group_store.add_members(tx, org, group, [a.id])
    assert types(feed_of(db, org, after=start)) == ["group.member_added"]


def test_grant_on_custom_group_changes_its_members_access(db: Database) -> None:
    """Adding and removing a grant on a custom group changes each member's access."""
    org, a, b = _setup(db)
    with write(db) as tx:
        project = structure.find_project(tx, org, "Checkout")
        admin = structure.find_role(tx, org, "Admin")
        group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
        group_store.add_members(tx, org, group, [a.id, b.id])
    with write(db) as tx:
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Admin"), [b.id])
    start = last(db, org)
    with write(db) as tx:
        grant_id = group_store.add_grant(tx, org, group, Grant(project.id, role_id=admin.id))
    with write(db) as tx:
        group_store.remove_grant(tx, org, group, grant_id)
    found = feed_of(db, org, after=start)
    assert types(found) == [
        "group.grant_added",
        "access.changed",
        "group.grant_removed",
        "access.changed",
    ]
    assert _access(found) == [
        (a.id, "Checkout", None, "Admin"),
        (a.id, "Checkout", "Admin", None),
    ]


def test_custom_role_grant_reports_custom_roles(db: Database) -> None:
    """A custom role changes the member's custom roles, reported in before/after."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        project = structure.find_project(tx, org, "Checkout")
        billing = structure.create_role(tx, org, "Billing", ["billing.read"])
    start = last(db, org)
    with write(db) as tx:
        effective.add_direct_assignment(tx, org, a, Grant(project.id, role_id=billing.id))
    found = feed_of(db, org, after=start)
    assert types(found) == ["member.assignment_added", "access.changed"]
    assert found[1].data["after"] == {"role": None, "custom_roles": ["Billing"]}
    start = last(db, org)
    with write(db) as tx:
        structure.delete_role(tx, org, billing)
    found = feed_of(db, org, after=start)
    assert types(found)[-2:] == ["role.deleted", "access.changed"]
    assert found[-1].data["before"] == {"role": None, "custom_roles": ["Billing"]}
    assert found[-1].data["after"] is None
    # The assignment went with the role, and said so (the database would have cascaded it).
    [removed] = [e for e in found if e.type == "member.assignment_removed"]
    assert removed.member_id == a.id and removed.data["role_id"] == billing.id


def test_a_deleted_role_takes_its_grants_and_says_so(db: Database) -> None:
    """Grants naming a deleted role are removed one by one, each in the feed and the audit
    log, before the role goes."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        project = structure.find_project(tx, org, "Checkout")
        auditor = structure.create_role(tx, org, "Auditor", ["audit.read"])
        custom = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
        grant_id = group_store.add_grant(tx, org, custom, Grant(project.id, role_id=auditor.id))
        group_store.add_members(tx, org, custom, [a.id])
    start = last(db, org)
    with write(db) as tx:
        structure.delete_role(tx, org, auditor)
    found = feed_of(db, org, after=start)
    kinds = types(found)
    assert kinds[0] == "group.grant_removed" and kinds.count("group.grant_removed") == 1
    assert kinds.index("role.deleted") > 0 and kinds[-1] == "access.changed"
    assert found[0].data["grant_id"] == grant_id and found[0].data["role_id"] == auditor.id
    with write(db) as tx:
        entries = listings.audit_entries(tx, org, action="group.grant_removed")
    assert [(e.resource_id, e.before) for e in entries] == [(custom.id, {"grant": grant_id})]


def test_deactivation_removes_groups_and_access(db: Database) -> None:
    """Deactivation: member.deactivated, each group left and direct assignment removed,
    then each project's access lost."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        project = structure.create_project(tx, org, "Billing")
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Admin"), [a.id])
        effective.add_direct_assignment(
            tx, org, a, Grant(project.id, role_id=structure.find_role(tx, org, "Member").id)
        )
        a = people.get_member(tx, org, a.id)
    start = last(db, org)
    with write(db) as tx:
        people.set_active(tx, org, a, False)
    found = feed_of(db, org, after=start)
    assert types(found) == [
        "member.deactivated",
        "group.member_removed",
        "member.assignment_removed",
        "access.changed",
        "access.changed",
    ]
    assert found[2].member_id == a.id and found[2].data["project_id"] == project.id
    assert sorted(_access(found)) == sorted(
        [(a.id, "Checkout", "Admin", None), (a.id, "Billing", "Member", None)]
    )


def test_removal_reports_lost_access(db: Database) -> None:
    """Removing a member reports the groups left and the access lost."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Member"), [a.id])
    start = last(db, org)
    with write(db) as tx:
        people.remove_member(tx, org, a)
    found = feed_of(db, org, after=start)
    assert types(found) == ["member.removed", "group.member_removed", "access.changed"]
    assert _access(found) == [(a.id, "Checkout", "Member", None)]


def test_project_deletion_reports_lost_access_once(db: Database) -> None:
    """Deleting a project: every member who had access there loses it, one event each."""
    org, a, b = _setup(db)
    with write(db) as tx:
        project = structure.find_project(tx, org, "Checkout")
        group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
        group_store.add_members(tx, org, group, [b.id])
        group_store.add_grant(
            tx, org, group, Grant(project.id, role_id=structure.find_role(tx, org, "Owner").id)
        )
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Member"), [a.id, b.id])
    start = last(db, org)
    with write(db) as tx:
        structure.delete_project(tx, org, project)
    found = feed_of(db, org, after=start)
    assert types(found)[-3:] == ["project.deleted", "access.changed", "access.changed"]
    assert sorted(_access(found)) == sorted(
        [(a.id, "Checkout", "Member", None), (b.id, "Checkout", "Owner", None)]
    )


def test_default_role_change_reaches_team_only_members(db: Database) -> None:
    """A team membership gives the default role: changing it changes their access."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        project = structure.find_project(tx, org, "Checkout")
        structure.create_team(tx, org, project, "Web")
        group_store.add_members(tx, org, _group(tx, org, "Scimitar-Checkout-Web-Member"), [a.id])
    start = last(db, org)
    with write(db) as tx:
        structure.set_default_role(tx, org, project, "Read-Only")
    found = feed_of(db, org, after=start)
    assert types(found) == ["project.updated", "access.changed"]
    assert _access(found) == [(a.id, "Checkout", "Member", "Read-Only")]


def test_team_deletion_reports_lost_access(db: Database) -> None:
    """Deleting a team removes the access its groups and team grants gave."""
    org, a, _ = _setup(db)
    with write(db) as tx:
        project = structure.find_project(tx, org, "Checkout")
        team = structure.create_team(tx, org, project, "Web")
        effective.add_direct_assignment(
            tx, org, a, Grant(project.id, team_id=team.id, team_role=TeamRole.ADMIN)
        )
    start = last(db, org)
    with write(db) as tx:
        structure.delete_team(tx, org, team)
    found = feed_of(db, org, after=start)
    assert _access(found) == [(a.id, "Checkout", "Member", None)]
    assert types(found)[-2:] == ["team.deleted", "access.changed"]


def test_what_a_deletion_takes_along_is_reported(db: Database) -> None:
    """A deleted project reports its teams' deletion; a deleted custom group its grants."""
    org, _, _ = _setup(db)
    with write(db) as tx:
        project = structure.create_project(tx, org, "Billing")
        team = structure.create_team(tx, org, project, "Payments")
        custom = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Finance")
        checkout = structure.find_project(tx, org, "Checkout")
        reader = structure.find_role(tx, org, "Read-Only")
        grant_id = group_store.add_grant(tx, org, custom, Grant(checkout.id, role_id=reader.id))
    start = last(db, org)
    with write(db) as tx:
        structure.delete_project(tx, org, project)
    found = feed_of(db, org, after=start)
    [deleted_team] = [e for e in found if e.type == "team.deleted"]
    assert deleted_team.resource_id == team.id
    assert types(found).index("team.deleted") < types(found).index("project.deleted")
    start = last(db, org)
    with write(db) as tx:
        group_kinds.delete_group(tx, org, group_store.get_group(tx, org, custom.id))
    found = feed_of(db, org, after=start)
    assert types(found)[:2] == ["group.grant_removed", "group.deleted"]
    assert found[0].data["grant_id"] == grant_id
