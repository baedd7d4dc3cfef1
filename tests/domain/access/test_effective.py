"""Effective access: the union of grants, the strongest role shown, every reason kept."""

from __future__ import annotations

from scimitar.domain.access import effective
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, people, structure
from scimitar.domain.models import Grant, GroupKind, TeamRole
from tests.domain.helpers import make_member, make_org


def test_two_groups_with_different_roles_both_stand(tx: Tx) -> None:
    """Member via one group and Admin via another: Admin shown, both reasons listed."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    member = make_member(tx, org, "a@example.com")
    for name in ("Scimitar-Checkout-Member", "Scimitar-Checkout-Admin"):
        group = group_store.find_group(tx, org, name)
        assert group is not None
        group_store.add_members(tx, org, group, [member.id])
    [result] = effective.effective_access(tx, org, member)
    assert result.project_id == project.id and result.role == "Admin"
    assert sorted(r.group_name or "" for r in result.reasons) == [
        "Scimitar-Checkout-Admin",
        "Scimitar-Checkout-Member",
    ]


def test_custom_group_grants_and_custom_role_permissions(tx: Tx) -> None:
    """A custom group's grant reaches its members; a custom role adds its permissions to
    those of the built-in role."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    billing = structure.create_role(tx, org, "Billing", ["billing.read"])
    engineering = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
    group_store.add_grant(tx, org, engineering, Grant(project.id, role_id=billing.id))
    group_store.add_grant(
        tx,
        org,
        engineering,
        Grant(project.id, role_id=structure.find_role(tx, org, "Read-Only").id),
    )
    member = make_member(tx, org, "b@example.com")
    group_store.add_members(tx, org, engineering, [member.id])
    [result] = effective.effective_access(tx, org, member)
    assert result.role == "Read-Only"
    assert result.custom_roles == ["Billing"]
    assert result.permissions == ["billing.read", "project.read"]
    assert {r.via for r in result.reasons} == {"custom group"}


def test_team_membership_gives_default_role_and_team(tx: Tx) -> None:
    """A team membership alone gives the project's default role and shows the team role."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout", default_role="Read-Only")
    team = structure.create_team(tx, org, project, "Web")
    member = make_member(tx, org, "c@example.com")
    group = group_store.find_group(tx, org, "Scimitar-Checkout-Web-Admin")
    assert group is not None
    group_store.add_members(tx, org, group, [member.id])
    effective.add_direct_assignment(
        tx, org, member, Grant(project.id, team_id=team.id, team_role=TeamRole.MEMBER)
    )
    [result] = effective.effective_access(tx, org, member)
    assert result.role == "Read-Only" and result.teams == {"Web": "Admin"}
    assert {r.via for r in result.reasons} == {"team group", "direct assignment"}


def test_no_grants_no_access(tx: Tx) -> None:
    """A member with no grants reaches no project; removing the grant removes the access."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    member = make_member(tx, org, "d@example.com")
    assert effective.effective_access(tx, org, member) == []
    custom = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Ops")
    grant_id = group_store.add_grant(
        tx, org, custom, Grant(project.id, role_id=structure.find_role(tx, org, "Admin").id)
    )
    group_store.add_members(tx, org, custom, [member.id])
    assert effective.effective_access(tx, org, member)[0].role == "Admin"
    group_store.remove_grant(tx, org, custom, grant_id)
    assert effective.effective_access(tx, org, people.get_member(tx, org, member.id)) == []


def test_permissions_are_the_union_of_every_grant(tx: Tx) -> None:
    """Member via a team (the default role) and Admin directly: Admin's permissions."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    team = structure.create_team(tx, org, project, "Web")
    member = make_member(tx, org, "e@example.com")
    effective.add_direct_assignment(
        tx, org, member, Grant(project.id, team_id=team.id, team_role=TeamRole.MEMBER)
    )
    [result] = effective.effective_access(tx, org, member)
    assert result.role == "Member"
    assert result.permissions == ["project.read", "project.write"]
    admin = structure.find_role(tx, org, "Admin")
    effective.add_direct_assignment(tx, org, member, Grant(project.id, role_id=admin.id))
    [result] = effective.effective_access(tx, org, member)
    assert result.role == "Admin" and result.permissions == sorted(admin.permissions)
