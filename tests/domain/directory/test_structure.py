"""Projects, roles, teams and the groups Scimitar keeps in step with them."""

from __future__ import annotations

import pytest

from scimitar.domain.access.permissions import PERMISSIONS
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, structure
from scimitar.domain.errors import ConflictError, InvalidError, NotFoundError, PolicyError
from scimitar.domain.models import BUILTIN_ROLES, GroupKind
from tests.domain.helpers import make_org


def _names(tx: Tx, org: object) -> list[str]:
    return sorted(g.display_name for g in group_store.list_groups(tx, org))  # type: ignore[arg-type]


def test_project_creates_one_role_group_per_role(tx: Tx) -> None:
    """A project gets `<prefix>-<Project>-<Role>` for every role of the org."""
    org = make_org(tx)
    structure.create_project(tx, org, "Check Out")
    assert _names(tx, org) == [
        "Scimitar-Check Out-Admin",
        "Scimitar-Check Out-Member",
        "Scimitar-Check Out-Owner",
        "Scimitar-Check Out-Read-Only",
    ]
    assert all(g.kind is GroupKind.ROLE for g in group_store.list_groups(tx, org))


def test_custom_role_adds_a_role_group_to_every_project(tx: Tx) -> None:
    """A new custom role adds its role group to every existing and future project."""
    org = make_org(tx)
    structure.create_project(tx, org, "A")
    structure.create_project(tx, org, "B")
    role = structure.create_role(tx, org, "Billing", ["billing.read", "billing.write"])
    assert role.permissions == ("billing.read", "billing.write") and not role.builtin
    structure.create_project(tx, org, "C")
    billing = [n for n in _names(tx, org) if n.endswith("-Billing")]
    assert billing == ["Scimitar-A-Billing", "Scimitar-B-Billing", "Scimitar-C-Billing"]
    structure.delete_role(tx, org, role)
    assert not [n for n in _names(tx, org) if n.endswith("-Billing")]


def test_builtin_role_cannot_be_deleted(tx: Tx) -> None:
    """Owner, Admin, Member and Read-Only are permanent."""
    org = make_org(tx)
    with pytest.raises(PolicyError, match="built-in"):
        structure.delete_role(tx, org, structure.find_role(tx, org, "Admin"))


def test_team_creates_two_groups_and_deletion_removes_both(tx: Tx) -> None:
    """A team has an Admin and a Member team group; deleting the team removes both."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    team = structure.create_team(tx, org, project, "Web-Front")
    team_groups = [g for g in group_store.list_groups(tx, org) if g.kind is GroupKind.TEAM]
    assert sorted(g.display_name for g in team_groups) == [
        "Scimitar-Checkout-Web-Front-Admin",
        "Scimitar-Checkout-Web-Front-Member",
    ]
    structure.delete_team(tx, org, team)
    assert not [g for g in group_store.list_groups(tx, org) if g.kind is GroupKind.TEAM]
    with pytest.raises(NotFoundError):
        structure.get_team(tx, org, team.id)


def test_project_rename_and_delete_follow_through(tx: Tx) -> None:
    """Renaming a project renames its groups; deleting it removes them."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Old")
    structure.create_team(tx, org, project, "T")
    project = structure.rename_project(tx, org, project, "New")
    assert all("-New-" in n for n in _names(tx, org))
    structure.delete_project(tx, org, project)
    assert _names(tx, org) == []


@pytest.mark.parametrize("name", ["", "  ", " padded", "x" * 101, "tab\there"])
def test_bad_names_are_refused(tx: Tx, name: str) -> None:
    """Empty, padded, overlong or control-character names are refused."""
    org = make_org(tx)
    with pytest.raises(InvalidError):
        structure.create_project(tx, org, name)
    assert structure.list_projects(tx, org) == []


def test_duplicate_names_conflict(tx: Tx) -> None:
    """Project, role and team names are unique case-insensitively in their scope."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    with pytest.raises(ConflictError):
        structure.create_project(tx, org, "CHECKOUT")
    with pytest.raises(ConflictError):
        structure.create_role(tx, org, "admin")
    structure.create_team(tx, org, project, "Web")
    with pytest.raises(ConflictError):
        structure.create_team(tx, org, project, "web")


def test_unknown_default_role_is_refused(tx: Tx) -> None:
    """A project's default role must exist."""
    org = make_org(tx)
    with pytest.raises(NotFoundError, match="No role named 'Boss'"):
        structure.create_project(tx, org, "X", default_role="Boss")


def test_builtin_roles_carry_nested_permission_sets(tx: Tx) -> None:
    """Read-Only ⊂ Member ⊂ Admin ⊂ Owner, strictly, and every permission is declared."""
    org = make_org(tx)
    sets = [set(structure.find_role(tx, org, n).permissions) for n in BUILTIN_ROLES]
    owner, admin, member, read_only = sets
    assert read_only < member < admin < owner and owner == set(PERMISSIONS)
