"""Access decisions for the host product: "may this member do X in this project?".

A call answers up to `MAX_CHECKS` checks in request order with at most four queries,
whatever their number: the org's roles, the members named (by id or userName), the
projects named (by id or name), and every grant reaching those members in those projects.
Everything else is decided in memory from `access.fold_grants`, the same reading of grants
as the member's effective access shown in the console, so the two cannot disagree.

A role check passes when the member holds that built-in role or a stronger one, or holds
that custom role; a permission check when any grant's role carries the permission. What
cannot be found (member, project, role, permission) is a refusal with a reason, never an
error: the host asks about names it may not have synced yet.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, bindparam, literal, select, union_all
from sqlalchemy.sql.elements import BindParameter

from scimitar.domain.access import effective
from scimitar.domain.access.effective import ProjectAccess, Reason
from scimitar.domain.access.permissions import PERMISSIONS
from scimitar.domain.context import Tx, fold
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Org, Role
from scimitar.storage.lists import in_list, list_value
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import members, projects

MAX_CHECKS = 1000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
#: Longer than any stored userName, id or name (checked before they reach the database).
MAX_VALUE = 2048


@dataclass(frozen=True)
class AccessCheck:
    """One question: does `member` (id or userName) hold `role` (or a stronger built-in
    one) or `permission` in `project` (id or name)? Exactly one of role and permission."""

    member: str
    project: str
    role: str | None = None
    permission: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: The member's strongest built-in role in the project, if any.
    role: str | None
    permissions: tuple[str, ...]
    #: Why: the refusal first (when refused), then every grant reaching the member there.
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Found:
    """A member or project the checks named, as found in the org."""

    id: str
    label: str
    active: bool = True


def check_access(tx: Tx, org: Org, checks: Sequence[AccessCheck]) -> list[Decision]:
    """Decide every check, in order, in a bounded number of queries."""
    _validate(checks)
    role_by_id = effective.org_roles(tx, org)
    member_by_key = _members(tx, org, {c.member for c in checks})
    project_by_key = _projects(tx, org, {c.project for c in checks})
    found = [(_lookup(member_by_key, c.member), _lookup(project_by_key, c.project)) for c in checks]
    asked = {(m.id, p.id) for m, p in found if m is not None and m.active and p is not None}
    held: dict[tuple[str, str], ProjectAccess] = {}
    if asked:
        rows = effective.grants_reaching(tx, org, {m for m, _ in asked}, {p for _, p in asked})
        # The query reaches every asked member in every asked project; keep the pairs asked.
        held = effective.fold_grants(
            (r for r in rows if (r.member_id, r.project_id) in asked), role_by_id
        )
    judge = _Judge(role_by_id)
    return [
        judge.decide(check, member, project, held)
        for check, (member, project) in zip(checks, found, strict=True)
    ]


def _validate(checks: Sequence[AccessCheck]) -> None:
    if not 1 <= len(checks) <= MAX_CHECKS:
        raise InvalidError(f"Send from 1 to {MAX_CHECKS} checks (got {len(checks)})")
    for index, check in enumerate(checks):
        if (check.role is None) == (check.permission is None):
            raise InvalidError(f"Check {index}: name either a role or a permission")
        for value in (check.member, check.project, check.role or "", check.permission or ""):
            if "\x00" in value or len(value) > MAX_VALUE:
                raise InvalidError(
                    f"Check {index}: values must be at most {MAX_VALUE} characters, without NUL"
                )


#: What the queries found, by id and by folded name.
_Index = tuple[dict[str, _Found], dict[str, _Found]]


def _lookup(found: _Index, key: str) -> _Found | None:
    # An id first, then the case-insensitive name (userName or project name).
    by_id, by_name = found
    return by_id.get(key) or by_name.get(fold(key))


def _found_query(table: Table, label: Column[str], key: Column[str], *extra: Column[Any]) -> Any:
    """Rows of `table` in the org whose id is in `ids` or whose folded name is in `keys`
    (list parameters), each marked by which matched: two indexed lookups."""
    org_id: BindParameter[Any] = bindparam("org_id")
    # By id, the org is compared as an expression, not an indexed column: without
    # statistics SQLite would otherwise walk the org's index rather than probe each id.
    by_id = select(literal("id").label("by"), table.c.id, label, *extra).where(
        table.c.org_id.concat("") == org_id, in_list(table.c.id, "ids")
    )
    by_name = select(literal("name"), table.c.id, label, *extra).where(
        table.c.org_id == org_id, in_list(key, "keys")
    )
    return union_all(by_id, by_name)


# Prepared once, as access._GRANTS.
_MEMBERS = Prepared(
    _found_query(members, members.c.user_name, members.c.user_name_key, members.c.active)
)
_PROJECTS = Prepared(_found_query(projects, projects.c.name, projects.c.name_key))


def _values(org: Org, keys: Collection[str]) -> dict[str, Any]:
    # Ids are lowercase UUIDs (`new_id`): only what looks like one is looked up as an id.
    ids = [k for k in keys if _UUID.match(k)]
    return {"org_id": org.id, "ids": list_value(ids), "keys": list_value({fold(k) for k in keys})}


def _members(tx: Tx, org: Org, keys: Collection[str]) -> _Index:
    """The members named, keyed by id and by folded userName."""
    return _keyed(_MEMBERS.all(driver(tx.conn), _values(org, keys)), "user_name")


def _projects(tx: Tx, org: Org, keys: Collection[str]) -> _Index:
    return _keyed(_PROJECTS.all(driver(tx.conn), _values(org, keys)), "name")


def _keyed(rows: Sequence[Any], label: str) -> _Index:
    by_id: dict[str, _Found] = {}
    by_name: dict[str, _Found] = {}
    for row in rows:
        name = getattr(row, label)
        item = _Found(row.id, name, getattr(row, "active", True))
        if row.by == "id":
            by_id[row.id] = item
        else:
            by_name[fold(name)] = item
    return by_id, by_name


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
        project: _Found | None,
        held: dict[tuple[str, str], ProjectAccess],
    ) -> Decision:
        if member is None:
            return _refused(f"No member {check.member!r} in this organization")
        if not member.active:
            return _refused(f"Member {member.label!r} is deactivated")
        if project is None:
            return _refused(f"No project {check.project!r} in this organization")
        granted = held.get((member.id, project.id)) or ProjectAccess(project.id, project.label)
        grants = tuple(_describe(r, project.label) for r in granted.reasons)
        refusal = (
            self._role_refusal(check.role, member, granted)
            if check.role is not None
            else self._permission_refusal(check.permission or "", member, granted)
        )
        return Decision(
            refusal is None,
            granted.role,
            tuple(granted.permissions),
            grants if refusal is None else (refusal, *grants),
        )

    def _role_refusal(self, name: str, member: _Found, granted: ProjectAccess) -> str | None:
        wanted = self.role_by_name.get(fold(name))
        where = f"in project {granted.project!r}"
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

    def _permission_refusal(self, name: str, member: _Found, granted: ProjectAccess) -> str | None:
        if name in granted.permissions:
            return None
        if name not in self.known_permissions:
            return f"No role in this organization carries permission {name!r}"
        return f"{member.label} does not hold permission {name!r} in project {granted.project!r}"


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
