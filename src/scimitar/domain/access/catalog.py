"""What access decisions read of an org's structure, kept per process between calls.

Deciding "may this member do X in that project?" reads two kinds of things: the member and
their group memberships, which change with every provisioning request, and the org's
structure (its roles, projects, the groups that give access to each project and custom
groups' grants), which changes when someone designs access. The first is read on every
call; the second is kept here, per org, for as long as the org's structure version
(`org_structure`, moved on by database triggers in the same transaction as any change to
it) stays the one the calling transaction reads. A transaction therefore never decides
with structure other than its own snapshot's, on either engine and in any process.

Only what calls ask for is loaded (the projects named, those projects' grant sources), so a
call's cost follows its checks, not the org's size. At most `KEPT_ORGS` orgs are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.sql.elements import BindParameter

from scimitar.domain.access import effective
from scimitar.domain.context import Tx
from scimitar.domain.models import GroupKind, Org, Role
from scimitar.storage.database import in_write, remembered
from scimitar.storage.lists import in_list, list_value
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import group_grants, groups, org_structure, projects, teams

#: Orgs whose structure a process keeps (least recently used dropped first).
KEPT_ORGS = 64
#: Project names and ids an org's kept structure remembers as unknown, at most.
KEPT_UNKNOWN = 10_000


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    default_role_id: str


@dataclass(frozen=True, slots=True)
class Source:
    """A group through which a project's access is given: a role group or team group of the
    project, or a custom group with a grant in it. Its members hold what it names."""

    group_id: str
    via: str  # a value of `effective.VIA`
    group_name: str
    role_id: str | None
    team_id: str | None
    team: str | None
    team_role: str | None


@dataclass
class Catalog:
    """One org's structure at one version; filled as calls ask."""

    version: int
    roles: dict[str, Role] | None = None
    #: Projects by id and by folded name; None: known not to exist at this version.
    by_id: dict[str, Project | None] = field(default_factory=dict)
    by_name: dict[str, Project | None] = field(default_factory=dict)
    #: How many of those are None.
    unknown: int = 0
    #: The grant sources of each project loaded so far...
    sources: dict[str, tuple[Source, ...]] = field(default_factory=dict)
    #: ...and the same by group: the loaded projects each group gives access to, and how.
    reach: dict[str, list[tuple[Project, Source]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: What callers derive from the structure (kept as long as it is).
    derived: dict[str, Any] = field(default_factory=dict)

    def org_roles(self, tx: Tx, org: Org) -> dict[str, Role]:
        """The org's roles by id, built-in permissions included."""
        if self.roles is None:
            self.roles = effective.org_roles(tx, org)
        return self.roles

    def projects(
        self, tx: Tx, org: Org, ids: Collection[str], names: Collection[str]
    ) -> tuple[dict[str, Project | None], dict[str, Project | None]]:
        """Projects by id and by folded name, loading (in one query) those not known yet;
        what was asked and not found maps to None (remembered as unknown up to
        `KEPT_UNKNOWN` names and ids: a caller asking for ever new names must not grow the
        process without bound)."""
        missing_ids = [i for i in ids if i not in self.by_id]
        missing_names = [n for n in names if n not in self.by_name]
        if missing_ids or missing_names:
            values = {
                "org_id": org.id,
                "ids": list_value(missing_ids),
                "keys": list_value(missing_names),
            }
            found_ids: dict[str, Project | None] = dict.fromkeys(missing_ids)
            found_names: dict[str, Project | None] = dict.fromkeys(missing_names)
            for row in _PROJECTS.all(driver(tx.conn), values):
                project = Project(row.id, row.name, row.default_role_id)
                if row.by == "id":
                    found_ids[row.id] = project
                else:
                    found_names[row.name_key] = project
            over = self.unknown + len(missing_ids) + len(missing_names) > KEPT_UNKNOWN
            self._keep(found_ids, found_names, known_only=over)
            if over:  # answered from what this call found; only what exists is kept
                return {**self.by_id, **found_ids}, {**self.by_name, **found_names}
        return self.by_id, self.by_name

    def _keep(
        self,
        by_id: dict[str, Project | None],
        by_name: dict[str, Project | None],
        *,
        known_only: bool,
    ) -> None:
        for kept, found in ((self.by_id, by_id), (self.by_name, by_name)):
            for key, project in found.items():
                if project is not None or not known_only:
                    if project is None and key not in kept:
                        self.unknown += 1
                    kept[key] = project

    def grant_sources(self, tx: Tx, org: Org, projects: Iterable[Project]) -> None:
        """Load (in one query) the grant sources of the projects not known yet."""
        missing = {p.id: p for p in projects if p.id not in self.sources}
        if not missing:
            return
        loaded: dict[str, list[Source]] = {p: [] for p in missing}
        values = {"org_id": org.id, "project_ids": list_value(missing)}
        for row in _SOURCES.all(driver(tx.conn), values):
            loaded[row.project_id].append(
                Source(
                    row.group_id,
                    effective.VIA[row.via],
                    row.group_name,
                    row.role_id,
                    row.team_id,
                    row.team,
                    row.team_role,
                )
            )
        # Another thread may have loaded some of them meanwhile: each project is added once.
        with self.lock:
            for project_id, sources in loaded.items():
                if project_id in self.sources:
                    continue
                self.sources[project_id] = tuple(sources)
                for source in sources:
                    reach = self.reach.setdefault(source.group_id, [])
                    reach.append((missing[project_id], source))


_VERSION = Prepared(
    select(org_structure.c.version).where(org_structure.c.org_id == bindparam("org_id"))
)


def _projects_query() -> Prepared:
    org_id: BindParameter[Any] = bindparam("org_id")
    columns = (projects.c.id, projects.c.name, projects.c.name_key, projects.c.default_role_id)
    # By id, the org is compared as an expression, not an indexed column: each listed id is
    # then probed (SQLite would otherwise walk the org's index).
    by_id = select(literal("id").label("by"), *columns).where(
        projects.c.org_id.concat("") == org_id, in_list(projects.c.id, "ids")
    )
    by_name = select(literal("name"), *columns).where(
        projects.c.org_id == org_id, in_list(projects.c.name_key, "keys")
    )
    return Prepared(union_all(by_id, by_name))


def _sources_query() -> Prepared:
    org_id: BindParameter[Any] = bindparam("org_id")
    group_teams = teams.alias("group_teams")
    grant_teams = teams.alias("grant_teams")
    own = (
        select(
            groups.c.project_id,
            groups.c.id.label("group_id"),
            groups.c.kind.label("via"),
            groups.c.display_name.label("group_name"),
            groups.c.role_id,
            groups.c.team_id,
            group_teams.c.name.label("team"),
            groups.c.team_role,
        )
        .outerjoin(group_teams, group_teams.c.id == groups.c.team_id)
        .where(
            in_list(groups.c.project_id, "project_ids"),
            groups.c.org_id == org_id,
            (groups.c.kind == GroupKind.ROLE.value) | (groups.c.kind == GroupKind.TEAM.value),
        )
    )
    # Grants attach to custom groups only (`group_store.add_grant`).
    granted = (
        select(
            group_grants.c.project_id,
            groups.c.id,
            groups.c.kind,
            groups.c.display_name,
            group_grants.c.role_id,
            group_grants.c.team_id,
            grant_teams.c.name,
            group_grants.c.team_role,
        )
        .join(groups, groups.c.id == group_grants.c.group_id)
        .outerjoin(grant_teams, grant_teams.c.id == group_grants.c.team_id)
        .where(in_list(group_grants.c.project_id, "project_ids"), groups.c.org_id == org_id)
    )
    return Prepared(union_all(own, granted))


_PROJECTS = _projects_query()
_SOURCES = _sources_query()

_kept: OrderedDict[str, Catalog] = OrderedDict()
_lock = threading.Lock()


def structure_version(tx: Tx, org: Org) -> int | None:
    """The org's structure version as this transaction sees it (None: the org has none)."""

    def read() -> int | None:
        row = _VERSION.first(driver(tx.conn), {"org_id": org.id})
        return None if row is None else int(row.version)

    return remembered(tx.conn, ("structure", org.id), read)


def catalog(tx: Tx, org: Org, version: int | None = None) -> Catalog:
    """The org's structure at the version this transaction sees (kept, or a new one);
    `version`: that version, when the transaction has read it already."""
    if version is None:
        version = structure_version(tx, org)
    if version is None or in_write(tx.conn):
        # Nothing tells when it changes, or a write transaction that may have changed it
        # (and may yet roll back, so its version would later name other structure): read
        # afresh, keep nothing.
        return Catalog(-1)
    with _lock:
        kept = _kept.get(org.id)
        if kept is not None and kept.version == version:
            _kept.move_to_end(org.id)
            return kept
        kept = _kept[org.id] = Catalog(version)
        _kept.move_to_end(org.id)
        while len(_kept) > KEPT_ORGS:
            _kept.popitem(last=False)
        return kept
