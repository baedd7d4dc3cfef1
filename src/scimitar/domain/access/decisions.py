"""Access decisions for the host product: "may this member do X in this project?".

A call answers up to `MAX_CHECKS` checks in request order with a bounded number of queries,
whatever their number: one reads the members named (by id or userName) with their
memberships of the groups that give access to the projects named and their direct
assignments in those projects. What is read of the org's structure (its roles, the
projects named, each project's role, team and custom groups) comes from `access.catalog`,
which keeps it between calls for as long as the structure does not change (three more
queries when it did).
Everything else is decided in memory from `access.fold_grants`, the same reading of grants
as the member's effective access shown in the console, so the two cannot disagree.

A role check passes when the member holds that built-in role or a stronger one, or holds
that custom role; a permission check when any grant's role carries the permission. What
cannot be found (member, project, role, permission) is a refusal with a reason, never an
error: the host asks about names it may not have synced yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, literal, null, select, type_coerce, union_all
from sqlalchemy.sql.elements import BindParameter

from scimitar.domain.access import catalog, effective
from scimitar.domain.access.catalog import Project, Source
from scimitar.domain.access.effective import ProjectAccess, Reason
from scimitar.domain.access.permissions import PERMISSIONS
from scimitar.domain.context import Tx, fold
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Org, Role
from scimitar.storage.lists import in_list, list_value
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import api_tokens, direct_assignments, group_members, members, teams

MAX_CHECKS = 1000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
#: Longer than any stored userName, id or name (checked before they reach the database).
MAX_VALUE = 2048


class AccessCheck(NamedTuple):
    """One question: does `member` (id or userName) hold `role` (or a stronger built-in
    one) or `permission` in `project` (id or name)? Exactly one of role and permission."""

    member: str
    project: str
    role: str | None = None
    permission: str | None = None


class Decision(NamedTuple):
    allowed: bool
    #: The member's strongest built-in role in the project, if any.
    role: str | None
    permissions: tuple[str, ...]
    #: Why: the refusal first (when refused), then every grant reaching the member there.
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Found:
    """A member the checks named, as found in the org."""

    id: str
    label: str
    active: bool = True


class _Grant(NamedTuple):
    """One grant reaching a member in a project, as `effective.fold_grants` reads it."""

    member_id: str
    project_id: str
    project: str
    default_role_id: str
    role_id: str | None
    role: str | None
    team: str | None
    team_role: str | None
    via: str
    group_id: str | None
    group_name: str | None


def check_access(
    tx: Tx,
    org: Org,
    checks: Sequence[AccessCheck],
    structure_version: int | None = None,
    prefetched: Callable[[], list[Any]] | None = None,
) -> list[Decision]:
    """Decide every check, in order, in a bounded number of queries. `structure_version`:
    the org's, if this transaction has read it already (with the caller's credential);
    `prefetched`: the one member's rows (`prefetch_one_member`)."""
    _validate(checks)
    structure = catalog.catalog(tx, org, structure_version)
    role_by_id = structure.org_roles(tx, org)
    project_of = _projects(tx, org, structure, {c.project for c in checks})
    projects = {p.id: p for p in project_of.values() if p is not None}
    structure.grant_sources(tx, org, projects.values())
    # The groups that give access to the asked projects: only memberships of those matter.
    group_ids = [s.group_id for p in projects for s in structure.sources[p]]
    named = _members(tx, org, {c.member for c in checks}, group_ids, projects, prefetched)
    found = [(named.member_of(c.member), project_of[c.project]) for c in checks]
    asked = {(m.id, p.id) for m, p in found if m is not None and m.active and p is not None}
    held: dict[tuple[str, str], ProjectAccess] = {}
    if asked:
        rows = _group_grants(asked, named.memberships, structure.reach, role_by_id)
        rows.extend(_direct_grants(asked, named.assignments, projects, role_by_id))
        held = effective.fold_grants(rows, role_by_id)
    judge = structure.derived.get("judge")
    if judge is None:
        judge = structure.derived["judge"] = _Judge(role_by_id)
    return [
        judge.decide(check, member, project, held)
        for check, (member, project) in zip(checks, found, strict=True)
    ]


def _validate(checks: Sequence[AccessCheck]) -> None:
    if not 1 <= len(checks) <= MAX_CHECKS:
        raise InvalidError(f"Send from 1 to {MAX_CHECKS} checks (got {len(checks)})")
    # The common case in a few passes of builtins (a thousand checks: four thousand values);
    # the first bad check is then found and named one by one.
    values = [v for check in checks for v in check if v is not None]
    if (
        all((c.role is None) != (c.permission is None) for c in checks)
        and max(map(len, values)) <= MAX_VALUE
        and "\x00" not in "".join(values)
    ):
        return
    for index, check in enumerate(checks):
        if (check.role is None) == (check.permission is None):
            raise InvalidError(f"Check {index}: name either a role or a permission")
        for value in (check.member, check.project, check.role or "", check.permission or ""):
            if "\x00" in value or len(value) > MAX_VALUE:
                raise InvalidError(
                    f"Check {index}: values must be at most {MAX_VALUE} characters, without NUL"
                )


def _projects(
    tx: Tx, org: Org, structure: catalog.Catalog, keys: Collection[str]
) -> dict[str, Project | None]:
    """Each project key asked (an id, else a case-insensitive name) and what it names."""
    by_id, by_name = structure.projects(
        tx, org, [k for k in keys if _UUID.match(k)], {fold(k) for k in keys}
    )
    return {key: by_id.get(key) or by_name.get(fold(key)) for key in keys}


#: A member's columns in the members queries; `active` read as the engine's own value (an
#: integer on SQLite, a Boolean on PostgreSQL; both test true or false alike): no
#: conversion per row of a thousand-check call.
_NAMED = (
    members.c.org_id,
    members.c.id,
    members.c.user_name,
    members.c.user_name_key,
    type_coerce(members.c.active, Integer).label("active"),
)


#: A direct assignment's columns in the members queries (its team by name, as `team`).
_ASSIGNED = (
    direct_assignments.c.project_id,
    direct_assignments.c.role_id,
    direct_assignments.c.team_id,
    direct_assignments.c.team_role,
    teams.c.name.label("team"),
)


def _members_query() -> Any:
    """The members named, by id (list `ids`) or folded userName (list `keys`): one row per
    membership of a group in the list `group_ids` (one with no group for a member in none
    of them), then one per direct assignment in a project of the list `project_ids`."""
    org_id: BindParameter[Any] = bindparam("org_id")
    named = _NAMED
    found = union_all(
        # By id, the org is compared as an expression, not an indexed column: without
        # statistics SQLite would otherwise walk the org's index rather than probe each id.
        select(literal("id").label("by"), *named).where(
            members.c.org_id.concat("") == org_id, in_list(members.c.id, "ids")
        ),
        select(literal("name"), *named).where(
            members.c.org_id == org_id, in_list(members.c.user_name_key, "keys")
        ),
    ).cte("found")
    memberships = select(
        found,
        group_members.c.group_id,
        null().label("project_id"),
        null().label("role_id"),
        null().label("team_id"),
        null().label("team_role"),
        null().label("team"),
    ).select_from(
        found.outerjoin(
            group_members,
            (group_members.c.member_id == found.c.id)
            # Each member's few groups are checked against the list, never the other way.
            & in_list(group_members.c.group_id, "group_ids", probe=False),
        )
    )
    direct = (
        select(found, null(), *_ASSIGNED)
        .select_from(found)
        .join(direct_assignments, direct_assignments.c.member_id == found.c.id)
        .outerjoin(teams, teams.c.id == direct_assignments.c.team_id)
        .where(in_list(direct_assignments.c.project_id, "project_ids", probe=False))
    )
    return union_all(memberships, direct)


def _one_member_query(org_id: Any, *, by_id: bool) -> Any:
    """The same rows for one member key, by folded userName (`key`) and, when the key can
    be an id (`by_id`), by id (`id`): every membership and direct assignment (a member's own
    few; the caller keeps those that matter), in point reads instead of list parameters
    (which cost more than the reads for a single member). `org_id`: the org, a parameter or
    the org of the admin API token whose digest is the parameter `token_digest`."""
    named = _NAMED
    nothing = tuple(null().label(column.key) for column in _ASSIGNED)
    branches = []
    ways = [
        ("id", (members.c.id == bindparam("id")) & (members.c.org_id.concat("") == org_id)),
        ("name", (members.c.org_id == org_id) & (members.c.user_name_key == bindparam("key"))),
    ]
    for by, where in ways if by_id else ways[1:]:
        memberships = members.outerjoin(group_members, group_members.c.member_id == members.c.id)
        branches.append(
            select(literal(by).label("by"), *named, group_members.c.group_id, *nothing)
            .select_from(memberships)
            .where(where)
        )
        assigned = members.join(
            direct_assignments, direct_assignments.c.member_id == members.c.id
        ).outerjoin(teams, teams.c.id == direct_assignments.c.team_id)
        branches.append(
            select(literal(by), *named, null(), *_ASSIGNED).select_from(assigned).where(where)
        )
    return union_all(*branches)


# Prepared once (storage/prepared.py): building and executing statements through
# SQLAlchemy was most of a one-check decision.
_MEMBERS = Prepared(_members_query())
_TOKEN_ORG = (
    select(api_tokens.c.org_id)
    .where(api_tokens.c.token_hash == bindparam("token_digest"), api_tokens.c.active.is_(True))
    .scalar_subquery()
)
#: One member, by whether the key can be an id: a userName-shaped key (the usual case) is
#: looked up by name alone, in half the statement.
_ONE_MEMBER = {
    by_id: Prepared(_one_member_query(bindparam("org_id"), by_id=by_id)) for by_id in (True, False)
}
_ONE_MEMBER_OF_TOKEN = {
    by_id: Prepared(_one_member_query(_TOKEN_ORG, by_id=by_id)) for by_id in (True, False)
}
#: The members queries' columns, by position (the last five: an `_Assigned`'s fields).
_BY, _ORG, _ID, _USER_NAME, _KEY, _ACTIVE, _GROUP, _PROJECT = range(8)


def _check_positions(*queries: Prepared) -> None:
    """Refuse to start when a members query's columns are not where they are read."""
    expected = ["by", "org_id", "id", "user_name", "user_name_key", "active", "group_id"]
    expected += _Assigned._fields[1:]
    for query in queries:
        found = [c.key for c in query.statement.selected_columns]  # type: ignore[attr-defined]
        if found != expected:
            raise RuntimeError(f"members query columns {found}, read as {expected}")


class _Assigned(NamedTuple):
    """A direct assignment of a member the checks named."""

    id: str
    project_id: str
    role_id: str | None
    team_id: str | None
    team_role: str | None
    team: str | None


_check_positions(_MEMBERS, *_ONE_MEMBER.values(), *_ONE_MEMBER_OF_TOKEN.values())


def prefetch_one_member(tx: Tx, token_digest: str, checks: Sequence[AccessCheck]) -> Any:
    """When every check names the same member: that member's rows, sent now (pipelined
    PostgreSQL: with the token's own statement, in one round trip) for the org of the
    token with this digest. `check_access` uses them once the token is found good, and only
    for that token's org (the rows say which org they are of)."""
    keys = {c.member for c in checks}
    if len(keys) != 1:  # many members: nothing to send early (nor to check twice)
        return None
    _validate(checks)  # before the values reach the database
    [key] = keys
    can_be_id = bool(_UUID.match(key))
    values = {"token_digest": token_digest, **_one_member_values(key, can_be_id)}
    return _ONE_MEMBER_OF_TOKEN[can_be_id].later(driver(tx.conn), values)


def _one_member_values(key: str, can_be_id: bool) -> dict[str, str]:
    return {"id": key, "key": fold(key)} if can_be_id else {"key": fold(key)}


@dataclass
class _Members:
    """What the members query found: each member key's member, and what reaches them."""

    by_id: dict[str, _Found]
    by_name: dict[str, _Found]
    #: Member id -> the listed groups they are in.
    memberships: dict[str, list[str]]
    #: The direct assignments of the members named.
    assignments: list[_Assigned]

    def member_of(self, key: str) -> _Found | None:
        """An id first, then the case-insensitive userName."""
        return self.by_id.get(key) or self.by_name.get(fold(key))


def _members(
    tx: Tx,
    org: Org,
    keys: Collection[str],
    group_ids: list[str],
    project_ids: Collection[str],
    prefetched: Callable[[], list[Any]] | None = None,
) -> _Members:
    """The members named, their memberships of the groups listed and their direct
    assignments in the projects listed (at least), in one query."""
    if prefetched is not None:
        rows = [row for row in prefetched() if row[_ORG] == org.id]
    elif len(keys) == 1:
        [key] = keys
        can_be_id = bool(_UUID.match(key))
        values = {"org_id": org.id, **_one_member_values(key, can_be_id)}
        rows = _ONE_MEMBER[can_be_id].all(driver(tx.conn), values)
    else:
        values = {
            "org_id": org.id,
            "ids": list_value([k for k in keys if _UUID.match(k)]),
            "keys": list_value({fold(k) for k in keys}),
            "group_ids": list_value(group_ids),
            "project_ids": list_value(project_ids),
        }
        rows = _MEMBERS.tuples(driver(tx.conn), values)
    found = _Members({}, {}, {}, [])
    by_id, by_name, memberships = found.by_id, found.by_name, found.memberships
    # One row per membership or assignment: the member is made once. Read by position
    # (a thousand-check call reads ~1 500 rows).
    for row in rows:
        member_id = row[_ID]
        named, key = (by_id, member_id) if row[_BY] == "id" else (by_name, row[_KEY])
        if key not in named:
            named[key] = _Found(member_id, row[_USER_NAME], bool(row[_ACTIVE]))
        groups_of = memberships.get(member_id)
        if groups_of is None:
            groups_of = memberships[member_id] = []
        if row[_PROJECT] is not None:
            found.assignments.append(_Assigned(member_id, *row[_PROJECT:]))
        elif row[_GROUP] is not None and row[_GROUP] not in groups_of:
            groups_of.append(row[_GROUP])
    return found


def _group_grants(
    asked: set[tuple[str, str]],
    memberships: dict[str, list[str]],
    reach: dict[str, list[tuple[Project, Source]]],
    role_by_id: dict[str, Role],
) -> list[_Grant]:
    """The grants the asked members hold through groups in the asked projects."""
    rows: list[_Grant] = []
    for member_id in {m for m, _ in asked}:
        for group_id in memberships.get(member_id, ()):
            for project, source in reach.get(group_id, ()):
                if (member_id, project.id) not in asked:
                    continue
                role = role_by_id.get(source.role_id) if source.role_id else None
                rows.append(
                    _Grant(
                        member_id,
                        project.id,
                        project.name,
                        project.default_role_id,
                        source.role_id,
                        None if role is None else role.name,
                        source.team,
                        source.team_role,
                        source.via,
                        source.group_id,
                        source.group_name,
                    )
                )
    return rows


def _direct_grants(
    asked: set[tuple[str, str]],
    assignments: list[_Assigned],
    projects: dict[str, Project],
    role_by_id: dict[str, Role],
) -> list[_Grant]:
    """The asked members' direct assignments in the asked projects."""
    rows: list[_Grant] = []
    # A member named both by id and by userName is found twice, with their assignments.
    seen: set[tuple[str, ...]] = set()
    for row in assignments:
        key = (row.id, row.project_id, row.role_id or "", row.team_id or "", row.team_role or "")
        if (row.id, row.project_id) not in asked or key in seen:
            continue
        seen.add(key)
        project = projects[row.project_id]
        role = role_by_id.get(row.role_id) if row.role_id else None
        rows.append(
            _Grant(
                row.id,
                project.id,
                project.name,
                project.default_role_id,
                row.role_id,
                None if role is None else role.name,
                row.team,
                row.team_role,
                effective.DIRECT,
                None,
                None,
            )
        )
    return rows


class _Judge:
    """Decides one check from what the queries found."""

    def __init__(self, role_by_id: dict[str, Role]) -> None:
        self.role_by_name = {fold(r.name): r for r in role_by_id.values()}
        self.known_permissions = set(PERMISSIONS).union(
            *(r.permissions for r in role_by_id.values())
        )

    def decide(
        self,
        check: AccessCheck,
        member: _Found | None,
        project: Project | None,
        held: dict[tuple[str, str], ProjectAccess],
    ) -> Decision:
        if member is None:
            return _refused(f"No member {check.member!r} in this organization")
        if not member.active:
            return _refused(f"Member {member.label!r} is deactivated")
        if project is None:
            return _refused(f"No project {check.project!r} in this organization")
        granted = held.get((member.id, project.id))
        if granted is None:  # no grant reaches the member there: a refusal, with no reasons
            granted = _NOTHING
            grants: tuple[str, ...] = ()
        else:
            grants = tuple(_describe(r, project.name) for r in granted.reasons)
        refusal = (
            self._role_refusal(check.role, member, granted, project.name)
            if check.role is not None
            else self._permission_refusal(check.permission or "", member, granted, project.name)
        )
        return Decision(
            refusal is None,
            granted.role,
            tuple(granted.permissions),
            grants if refusal is None else (refusal, *grants),
        )

    def _role_refusal(
        self, name: str, member: _Found, granted: ProjectAccess, project: str
    ) -> str | None:
        wanted = self.role_by_name.get(fold(name))
        where = f"in project {project!r}"
        if wanted is None:
            return f"No role named {name!r} in this organization"
        if wanted.rank is None:
            if wanted.name in granted.custom_roles:
                return None
            return f"{member.label} does not hold the custom role {wanted.name!r} {where}"
        held = self.role_by_name[fold(granted.role)] if granted.role else None
        if held is not None and held.rank is not None and held.rank >= wanted.rank:
            return None
        if held is None:
            return f"{member.label} holds no built-in role {where}"
        return f"{member.label} holds {held.name} {where}, weaker than {wanted.name}"

    def _permission_refusal(
        self, name: str, member: _Found, granted: ProjectAccess, project: str
    ) -> str | None:
        if name in granted.permissions:
            return None
        if name not in self.known_permissions:
            return f"No role in this organization carries permission {name!r}"
        return f"{member.label} does not hold permission {name!r} in project {project!r}"


#: What a member holds in a project no grant reaches them in (read, never changed).
_NOTHING = ProjectAccess("", "")


def _refused(reason: str) -> Decision:
    return Decision(False, None, (), (reason,))


def _describe(reason: Reason, project: str) -> str:
    """One grant as a sentence, e.g. "Admin in 'Checkout' via role group 'Scimitar-…'"."""
    if reason.role is not None:
        what = reason.role
    else:
        what = f"the project's default role (team {reason.team!r}, {reason.team_role})"
    via = reason.via if reason.group_name is None else f"{reason.via} {reason.group_name!r}"
    return f"{what} in {project!r} via {via}"
