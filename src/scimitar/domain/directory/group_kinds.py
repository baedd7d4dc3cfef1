"""What an identity provider may do to each kind of group (PRODUCT.md §1 "Group kinds").

- Role groups: listable, membership editable; never created, renamed or deleted over SCIM.
- Team groups: a new `<prefix>-<Project>-<Team>-Admin|Member` name for an existing project
  creates the team (both groups); deleting either group deletes the team.
- Custom groups: plain groups, unless the org policy `custom_groups` is `reject`.
A group may always be "renamed" to its own name (Okta does so after every push).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scimitar.domain.context import Tx, fold
from scimitar.domain.directory import group_add, group_store, structure
from scimitar.domain.errors import InvalidError, PolicyError
from scimitar.domain.models import Group, GroupKind, Org, Policy, Project, Role, TeamRole
from scimitar.protocol.patch import MemberChange

PROJECT_CREATION = "Project creation is not supported via SCIM"
PROJECT_DELETION = "Project deletion is not supported via SCIM"
RENAME = "Renaming this group is not supported via SCIM"


def _team_candidates(tx: Tx, org: Org, rest: str, team_role: TeamRole) -> list[tuple[Project, str]]:
    """Every (project, team name) that `<Project>-<Team>-<team_role>` can be read as."""
    middle = rest[: -len(team_role.value) - 1]
    candidates = []
    for project in structure.list_projects(tx, org):
        head = project.name + "-"
        if fold(middle).startswith(fold(head)) and len(middle) > len(head):
            candidates.append((project, middle[len(head) :]))
    return candidates


def create_group(
    tx: Tx,
    org: Org,
    display_name: str,
    external_id: str | None,
    member_ids: Sequence[str] = (),
) -> Group:
    """POST /Groups: a custom group, or a new team, or a clear refusal; with its first
    members."""
    group = _create_group(tx, org, display_name, external_id)
    if member_ids:
        group_store.add_members(tx, org, group, member_ids)
        group = group_store.get_group(tx, org, group.id)
    return group


def _create_group(tx: Tx, org: Org, display_name: str, external_id: str | None) -> Group:
    group_store.check_group_name(display_name)
    existing = group_store.find_group(tx, org, display_name)
    if existing is not None:
        raise group_store.name_taken(display_name)
    prefix = org.group_prefix + "-"
    if fold(display_name).startswith(fold(prefix)):
        managed = _create_managed(tx, org, display_name, display_name[len(prefix) :])
        if managed is not None:
            if external_id is not None:
                managed = group_store.update_group(tx, org, managed, external_id=external_id)
            return managed
    if org.custom_groups is Policy.REJECT:
        raise PolicyError(
            f"Custom groups are disabled for this organization; {display_name!r} is not a "
            f"role group ({org.group_prefix}-<Project>-<Role>) or a team group "
            f"({org.group_prefix}-<Project>-<Team>-Admin|Member)"
        )
    return group_store.insert_group(
        tx, org, GroupKind.CUSTOM, display_name, external_id=external_id
    )


@dataclass(frozen=True)
class _Reading:
    """How a name past the org's prefix reads: the (project, team) it could name with a
    team role suffix, or else a role suffix after a project's name."""

    team_role: TeamRole | None = None
    teams: tuple[tuple[Project, str], ...] = ()
    role: Role | None = None
    project_name: str = ""


def _read_managed(tx: Tx, org: Org, rest: str) -> _Reading | None:
    """The one reading of managed names, for creating a group and for renaming one."""
    for team_role in TeamRole:
        if fold(rest).endswith("-" + fold(team_role.value)):
            candidates = _team_candidates(tx, org, rest, team_role)
            if candidates:
                return _Reading(team_role=team_role, teams=tuple(candidates))
    for role in structure.list_roles(tx, org):
        if fold(rest).endswith("-" + fold(role.name)) and len(rest) > len(role.name) + 1:
            return _Reading(role=role, project_name=rest[: -len(role.name) - 1])
    return None


def _create_managed(tx: Tx, org: Org, name: str, rest: str) -> Group | None:
    reading = _read_managed(tx, org, rest)
    if reading is None:
        return None
    if reading.team_role is None:
        raise PolicyError(
            f"{PROJECT_CREATION}: no project matches {reading.project_name!r} "
            "(projects are created in the Scimitar console)"
        )
    if len(reading.teams) > 1:
        readings = "; ".join(f"project {p.name!r}, team {t!r}" for p, t in reading.teams)
        raise InvalidError(f"Group name {name!r} is ambiguous: it reads as {readings}")
    [(project, team_name)] = reading.teams
    if structure.find_team(tx, org, project, team_name) is not None:
        raise InvalidError(
            f"Team {team_name!r} of project {project.name!r} exists but has no group named {name!r}"
        )
    team = structure.create_team(tx, org, project, team_name)
    wanted = structure.team_group_name(org, project, team, reading.team_role)
    group = group_store.find_group(tx, org, wanted)
    assert group is not None
    return group


def rename_group(tx: Tx, org: Org, group: Group, display_name: str) -> Group:
    if display_name == group.display_name:
        return group
    if group.kind is not GroupKind.CUSTOM:
        if fold(display_name) == fold(group.display_name):
            return group
        raise PolicyError(f"{RENAME}: {group.display_name!r} is a {group.kind.value} group")
    # A change of case only keeps the name the group already had.
    same_name = fold(display_name) == fold(group.display_name)
    if not same_name and group_store.find_group(tx, org, display_name) is not None:
        raise group_store.name_taken(display_name)  # as for a create: 409 before any other rule
    reading = None if same_name else _managed_reading(tx, org, display_name)
    if reading is not None:
        # A custom group under a managed name would pass for that role or team group, and
        # would take the name its real group needs.
        raise InvalidError(
            f"Cannot rename custom group {group.display_name!r} to {display_name!r}: that name "
            f"reads as {reading}; names of that form are kept for role and team groups"
        )
    return group_store.update_group(tx, org, group, display_name=display_name)


def _managed_reading(tx: Tx, org: Org, name: str) -> str | None:
    """How `name` reads as a role or team group name of this org, if it does: the names
    that `create_group` turns into a team or refuses as a project's role group."""
    prefix = org.group_prefix + "-"
    if not fold(name).startswith(fold(prefix)):
        return None
    reading = _read_managed(tx, org, name[len(prefix) :])
    if reading is None:
        return None
    if reading.team_role is not None:
        project, team = reading.teams[0]
        return f"the {reading.team_role.value} group of team {team!r} of project {project.name!r}"
    assert reading.role is not None
    return f"the {reading.role.name!r} role group of a project {reading.project_name!r}"


def delete_group(tx: Tx, org: Org, group: Group) -> None:
    """DELETE /Groups/{id}. Takes its own locks: callers pass an unlocked `group`."""
    if group.kind is GroupKind.ROLE:
        raise PolicyError(f"{PROJECT_DELETION}: {group.display_name!r} is a role group")
    if group.kind is GroupKind.TEAM:
        assert group.team_id is not None
        # The team row first: deleting both team groups at once (Okta deletes each) would
        # otherwise lock the two groups in opposite orders and deadlock.
        team = structure.get_team(tx, org, group.team_id, for_update=True)
        structure.delete_team(tx, org, team)
        return
    group_store.erase_group(tx, org, group_store.get_group(tx, org, group.id, for_update=True))


def coalesce(changes: Sequence[MemberChange]) -> list[MemberChange]:
    """Merge runs of adds or of removes into one change each (Okta sends one
    `remove members[value eq …]` operation per member). Order between runs is kept, so an
    add followed by a remove of the same member still nets out."""
    merged: list[MemberChange] = []
    for change in changes:
        last = merged[-1] if merged else None
        if last is not None and change.kind == last.kind and change.kind in ("add", "remove"):
            merged[-1] = MemberChange(last.kind, last.ids + change.ids)
        else:
            merged.append(change)
    return merged


def apply_member_changes(tx: Tx, org: Org, group: Group, changes: Sequence[MemberChange]) -> bool:
    """Apply PATCH member deltas in request order; True when membership changed."""
    changed = False
    for change in coalesce(changes):
        if change.kind == "add" and len(change.ids) == 1:
            changed |= group_add.add_one_member(tx, org, group, change.ids[0])
        elif change.kind == "add":
            changed |= bool(group_store.add_members(tx, org, group, change.ids))
        elif change.kind == "remove":
            changed |= bool(group_store.remove_members(tx, org, group, change.ids))
        elif change.kind == "clear":
            changed |= bool(group_store.clear_members(tx, org, group))
        else:
            changed |= group_store.replace_members(tx, org, group, change.ids)
    if changed:
        group_store.touch(tx, group)
    return changed


def replace_group(
    tx: Tx,
    org: Org,
    group: Group,
    display_name: str,
    external_id: str | None,
    member_ids: Sequence[str] | None,
) -> Group:
    """A whole group replaced (SCIM PUT): its name under the kind's rules, its externalId,
    and its members when given (None leaves a large group's membership alone rather than
    silently emptying it). `group` is locked by the caller; returns the group as it is now."""
    group = rename_group(tx, org, group, display_name)
    group = group_store.update_group(tx, org, group, external_id=external_id)
    if member_ids is not None and group_store.replace_members(tx, org, group, member_ids):
        group_store.touch(tx, group)
    return group_store.get_group(tx, org, group.id)


def change_group(
    tx: Tx,
    org: Org,
    group: Group,
    *,
    display_name: str | None,
    external_id: str | None,
    member_changes: Sequence[MemberChange],
) -> Group:
    """A group changed in part (SCIM PATCH): a new name under the kind's rules and
    externalId when `display_name` is given, then the member deltas in request order. The
    returned group may be stale in `version` when only members changed (a PATCH answers
    204, so a large group is never read back)."""
    if display_name is not None:
        group = rename_group(tx, org, group, display_name)
        group = group_store.update_group(tx, org, group, external_id=external_id)
    apply_member_changes(tx, org, group, member_changes)
    return group
