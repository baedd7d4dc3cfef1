"""Groups and their memberships.

Memberships are rows, changed as set-based deltas: adding one member to a group of a
million costs one lookup and one insert, never a load of the group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from scimitar.domain.access import changes
from scimitar.domain.access.effective import insert_grant
from scimitar.domain.context import Tx, fold, new_id, utc
from scimitar.domain.errors import ConflictError, InvalidError, NotFoundError
from scimitar.domain.events import feed
from scimitar.domain.models import Grant, Group, GroupKind, Org, TeamRole
from scimitar.domain.records import audit
from scimitar.storage.engines import serialises_writers, share_locked
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import (
    UUID,
    Timestamp,
    group_grants,
    group_members,
    groups,
    members,
)

MAX_NAME = 1024
#: Bound parameters per statement stay well under SQLite's and PostgreSQL's limits.
CHUNK = 5000


def group_from_row(row: Row[Any]) -> Group:
    return Group(
        id=row.id,
        org_id=row.org_id,
        seq=row.seq,
        kind=GroupKind(row.kind),
        display_name=row.display_name,
        external_id=row.external_id,
        project_id=row.project_id,
        role_id=row.role_id,
        team_id=row.team_id,
        team_role=TeamRole(row.team_role) if row.team_role else None,
        attributes=row.attributes,
        version=row.version,
        created=utc(row.created),
        last_modified=utc(row.last_modified),
    )


def snapshot(group: Group) -> dict[str, Any]:
    return _reference(group.id, group.display_name, group.kind.value)


def _reference(group_id: str, display_name: str, kind: str) -> dict[str, Any]:
    """How an event names a group."""
    return {"id": group_id, "displayName": display_name, "kind": kind}


def _event_data(group: Group) -> dict[str, Any]:
    return {
        **snapshot(group),
        "externalId": group.external_id,
        "project_id": group.project_id,
        "role_id": group.role_id,
        "team_id": group.team_id,
        "team_role": group.team_role.value if group.team_role else None,
    }


def _emit(tx: Tx, org: Org, type: str, group: Group, changed: list[str] | None = None) -> None:
    feed.emit(
        tx,
        org.id,
        type,
        "group",
        group.id,
        version=group.version,
        data=_event_data(group),
        changed=changed,
    )


def _emit_membership(tx: Tx, org: Org, type: str, group: Group, member_ids: Iterable[str]) -> None:
    """One `group.member_added` / `group.member_removed` per member: a member's history
    and a consumer's copy of the membership stay exact. They carry no version: a request's
    membership changes bump the group's version once, at its end."""
    ref = snapshot(group)
    feed.emit_each(tx, org.id, type, "group", (_membership(ref, m) for m in member_ids))


def _membership(group: dict[str, Any], member_id: str) -> tuple[str, str, dict[str, Any]]:
    """A membership event's resource id, member and data (`feed.emit_each`)."""
    return group["id"], member_id, {"group": group, "member_id": member_id}


def emit_members_added(tx: Tx, org: Org, group: Group, member_ids: Iterable[str]) -> None:
    _emit_membership(tx, org, "group.member_added", group, member_ids)


def emit_left(tx: Tx, org: Org, left: Iterable[Any], member_id: str) -> None:
    """`group.member_removed` for a member taken out of these groups (deactivation): rows
    (named tuples) of a group's `id`, `display_name` and `kind`, all its events need."""
    items = (_membership(_reference(g.id, g.display_name, g.kind), member_id) for g in left)
    feed.emit_each(tx, org.id, "group.member_removed", "group", items)


def check_group_name(name: str) -> str:
    if not name.strip():
        raise InvalidError("Group displayName must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidError(f"Group displayName must be at most {MAX_NAME} characters")
    return name


def name_taken(name: str) -> ConflictError:
    return ConflictError(f"A group named {name!r} already exists in this organization")


def insert_group(
    tx: Tx,
    org: Org,
    kind: GroupKind,
    display_name: str,
    *,
    external_id: str | None = None,
    attributes: dict[str, Any] | None = None,
    project_id: str | None = None,
    role_id: str | None = None,
    team_id: str | None = None,
    team_role: TeamRole | None = None,
) -> Group:
    check_group_name(display_name)
    key = fold(display_name)
    if tx.conn.execute(
        select(groups.c.id).where(groups.c.org_id == org.id, groups.c.display_name_key == key)
    ).first():
        raise name_taken(display_name)
    group_id = new_id()
    try:
        tx.conn.execute(
            insert(groups).values(
                id=group_id,
                org_id=org.id,
                kind=kind.value,
                display_name=display_name,
                display_name_key=key,
                external_id=external_id,
                project_id=project_id,
                role_id=role_id,
                team_id=team_id,
                team_role=team_role.value if team_role else None,
                attributes=attributes or {},
                version=1,
                created=tx.now,
                last_modified=tx.now,
            )
        )
    except IntegrityError:
        raise name_taken(display_name) from None
    group = get_group(tx, org, group_id)
    audit.record(tx, org.id, "group.created", "group", group.id, after=snapshot(group))
    _emit(tx, org, "group.created", group)
    return group


def get_group(tx: Tx, org: Org, group_id: str, *, for_update: bool = False) -> Group:
    query = select(groups).where(groups.c.org_id == org.id, groups.c.id == group_id)
    if for_update:
        query = query.with_for_update()
    row = tx.conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"Group {group_id} not found")
    return group_from_row(row)


def find_group(tx: Tx, org: Org, display_name: str) -> Group | None:
    row = tx.conn.execute(
        select(groups).where(
            groups.c.org_id == org.id, groups.c.display_name_key == fold(display_name)
        )
    ).first()
    return group_from_row(row) if row else None


def list_groups(tx: Tx, org: Org) -> list[Group]:
    query = select(groups).where(groups.c.org_id == org.id).order_by(groups.c.seq)
    return [group_from_row(row) for row in tx.conn.execute(query)]


def managed_groups(tx: Tx, org: Org) -> list[Group]:
    query = select(groups).where(groups.c.org_id == org.id, groups.c.kind != GroupKind.CUSTOM)
    return [group_from_row(row) for row in tx.conn.execute(query)]


def update_group(
    tx: Tx,
    org: Org,
    group: Group,
    *,
    display_name: str | None = None,
    external_id: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Group:
    """Rename a group or change its stored attributes; bumps its version."""
    values: dict[str, Any] = {}
    if display_name is not None and display_name != group.display_name:
        check_group_name(display_name)
        values.update(display_name=display_name, display_name_key=fold(display_name))
    if external_id != group.external_id:
        values["external_id"] = external_id
    if attributes is not None and attributes != group.attributes:
        values["attributes"] = attributes
    if not values:
        return group
    if "display_name_key" in values and values["display_name_key"] != fold(group.display_name):
        taken = tx.conn.execute(
            select(groups.c.id).where(
                groups.c.org_id == org.id, groups.c.display_name_key == values["display_name_key"]
            )
        ).first()
        if taken:
            raise name_taken(values["display_name"])
    try:
        tx.conn.execute(
            update(groups)
            .where(groups.c.id == group.id)
            .values(version=group.version + 1, last_modified=tx.now, **values)
        )
    except IntegrityError:
        raise name_taken(values.get("display_name", group.display_name)) from None
    updated = get_group(tx, org, group.id)
    audit.record(
        tx,
        org.id,
        "group.updated",
        "group",
        group.id,
        before=snapshot(group),
        after=snapshot(updated),
    )
    changed = [
        name
        for name, old, new in (
            ("displayName", group.display_name, updated.display_name),
            ("externalId", group.external_id, updated.external_id),
            ("attributes", group.attributes, updated.attributes),
        )
        if old != new
    ]
    renamed = "displayName" in changed
    _emit(tx, org, "group.renamed" if renamed else "group.updated", updated, changed)
    return updated


def erase_group(tx: Tx, org: Org, group: Group) -> None:
    """Delete a group of any kind, its grants first. No kind rule here: this is for
    `structure` (whose groups go with their project, role or team) and for
    `group_kinds.delete_group`, the one delete anyone else calls, which checks the kind."""
    with changes.watch(tx, org, changes.members_of(tx, group)):
        # Its grants first, each with its event (the database would cascade them silently).
        drop_grants(tx, org, group_grants.c.group_id == group.id)
        tx.conn.execute(delete(groups).where(groups.c.id == group.id))
        audit.record(tx, org.id, "group.deleted", "group", group.id, before=snapshot(group))
        _emit(tx, org, "group.deleted", group)


def touch(tx: Tx, group: Group) -> None:
    """A membership change is a change of the group: new version and lastModified."""
    _TOUCH.send(driver(tx.conn), {"group_id": group.id, "now": tx.now})


_TOUCH = Prepared(
    update(groups)
    .where(groups.c.id == bindparam("group_id"))
    .values(version=groups.c.version + 1, last_modified=bindparam("now"))
)


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _active_members(tx: Tx, org: Org, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are active members of `org`, locking them against a concurrent
    deactivation until this transaction ends (a deactivated member is never left in a group).
    """
    found: set[str] = set()
    for chunk in _chunks(ids):
        query = select(members.c.id).where(
            members.c.org_id == org.id, members.c.id.in_(chunk), members.c.active.is_(True)
        )
        found.update(tx.conn.execute(share_locked(tx.conn, query)).scalars())
    return found


def _refuse_inactive(tx: Tx, org: Org, group: Group, ids: Sequence[str]) -> None:
    """Raise, naming the first of `ids` that is not an active member of `org`."""
    active = _active_members(tx, org, ids)
    missing = [member_id for member_id in ids if member_id not in active]
    if missing:
        raise InvalidError(
            f"Cannot add {missing[0]!r} to group {group.display_name!r}: "
            "no active user with that id exists in this organization"
        )


def add_members(
    tx: Tx, org: Org, group: Group, member_ids: Sequence[str], *, known_new: bool = False
) -> list[str]:
    """Add members; unknown or deactivated ids are refused with the id named. Returns the ids
    that were not members before (`known_new`: the caller has just read the membership)."""
    wanted = list(dict.fromkeys(member_ids))
    if not wanted:
        return []
    if not serialises_writers(tx.conn):
        # Share-lock the members until this transaction ends, so that a concurrent
        # deactivation waits and never leaves a deactivated member in a group. With one
        # writer at a time, the insert's own `active` test below is enough.
        _refuse_inactive(tx, org, group, wanted)
    present: set[str] = set()
    for chunk in [] if known_new else _chunks(wanted):
        present.update(
            tx.conn.execute(
                select(group_members.c.member_id).where(
                    group_members.c.group_id == group.id, group_members.c.member_id.in_(chunk)
                )
            ).scalars()
        )
    new = [member_id for member_id in wanted if member_id not in present]
    if new:
        affected = new if changes.grants_on_group(tx, group) else []
        with changes.watch(tx, org, affected):
            if _insert_active(tx, org, group, new) != len(new):
                _refuse_inactive(tx, org, group, new)
            audit.record(
                tx, org.id, "group.members_added", "group", group.id, after={"members": new}
            )
            _emit_membership(tx, org, "group.member_added", group, new)
    return new


def _insert_active(tx: Tx, org: Org, group: Group, ids: Sequence[str]) -> int:
    """Insert the memberships of those of `ids` that are active members; returns how many.

    INSERT … SELECT: one statement per chunk and no per-row parameter processing (10 000
    rows as an executemany spent a third of a 10 000-member replace in SQLAlchemy)."""
    inserted = 0
    for chunk in _chunks(ids):
        rows = select(
            literal(group.id, UUID),
            members.c.id,
            literal(org.id, UUID),
            literal(tx.now, Timestamp),
        ).where(members.c.org_id == org.id, members.c.id.in_(chunk), members.c.active.is_(True))
        result = tx.conn.execute(
            insert(group_members).from_select(["group_id", "member_id", "org_id", "added"], rows)
        )
        inserted += result.rowcount
    return inserted


def remove_members(tx: Tx, org: Org, group: Group, member_ids: Sequence[str]) -> int:
    """Remove members; ids that are not members are ignored. Returns how many were removed."""
    wanted = list(dict.fromkeys(member_ids))
    removed: list[str] = []
    affected = wanted if wanted and changes.grants_on_group(tx, group) else []
    with changes.watch(tx, org, affected):
        for chunk in _chunks(wanted):
            result = tx.conn.execute(
                delete(group_members)
                .where(group_members.c.group_id == group.id, group_members.c.member_id.in_(chunk))
                .returning(group_members.c.member_id)
            )
            removed.extend(result.scalars())
        if removed:
            order = {member_id: i for i, member_id in enumerate(wanted)}
            removed.sort(key=order.__getitem__)
            audit.record(
                tx, org.id, "group.members_removed", "group", group.id, before={"members": removed}
            )
            _emit_membership(tx, org, "group.member_removed", group, removed)
    return len(removed)


def clear_members(tx: Tx, org: Org, group: Group) -> int:
    with changes.watch(tx, org, changes.members_of(tx, group)):
        result = tx.conn.execute(
            delete(group_members)
            .where(group_members.c.group_id == group.id)
            .returning(group_members.c.member_id)
        )
        removed = sorted(result.scalars())
        if removed:
            audit.record(
                tx,
                org.id,
                "group.members_cleared",
                "group",
                group.id,
                before={"count": len(removed)},
            )
            _emit_membership(tx, org, "group.member_removed", group, removed)
    return len(removed)


def replace_members(tx: Tx, org: Org, group: Group, member_ids: Sequence[str]) -> bool:
    """Make the membership exactly `member_ids`, as a delta against the current rows."""
    wanted = list(dict.fromkeys(member_ids))
    current = set(
        tx.conn.execute(
            select(group_members.c.member_id).where(group_members.c.group_id == group.id)
        ).scalars()
    )
    wanted_set = set(wanted)
    removed = remove_members(tx, org, group, [m for m in current if m not in wanted_set])
    added = add_members(tx, org, group, [m for m in wanted if m not in current], known_new=True)
    return bool(removed or added)


def member_ids(tx: Tx, group: Group) -> Iterable[str]:
    """The group's member ids, streamed in insertion order."""
    query = (
        select(group_members.c.member_id)
        .where(group_members.c.group_id == group.id)
        .order_by(group_members.c.added, group_members.c.member_id)
    )
    return tx.conn.execute(query).scalars()


def count_members(tx: Tx, group: Group) -> int:
    query = select(func.count()).where(group_members.c.group_id == group.id)
    return int(tx.conn.execute(query).scalar_one())


def groups_of(tx: Tx, member_id: str) -> list[Group]:
    query = (
        select(groups)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(group_members.c.member_id == member_id)
        .order_by(groups.c.seq)
    )
    return [group_from_row(row) for row in tx.conn.execute(query)]


def add_grant(tx: Tx, org: Org, group: Group, grant: Grant) -> str:
    if group.kind is not GroupKind.CUSTOM:
        raise InvalidError("Grants can only be attached to custom groups")
    with changes.watch(tx, org, member_ids(tx, group)):
        grant_id = insert_grant(tx, group_grants, org, grant, group_id=group.id)
        audit.record(
            tx,
            org.id,
            "group.grant_added",
            "group",
            group.id,
            after={"grant": grant_id, **grant.columns()},
        )
        _emit_grant(tx, org, "group.grant_added", group, grant_id, grant)
    return grant_id


def remove_grant(tx: Tx, org: Org, group: Group, grant_id: str) -> None:
    if grant_id not in _grant_ids(tx, group):
        raise NotFoundError(f"Grant {grant_id} not found on group {group.display_name!r}")
    with changes.watch(tx, org, member_ids(tx, group)):
        drop_grants(
            tx, org, (group_grants.c.group_id == group.id) & (group_grants.c.id == grant_id)
        )


def _emit_grant(tx: Tx, org: Org, type: str, group: Group, grant_id: str, grant: Grant) -> None:
    data = {"group": snapshot(group), "grant_id": grant_id, **grant.columns()}
    feed.emit(tx, org.id, type, "group", group.id, version=group.version, data=data)


def _grant_ids(tx: Tx, group: Group) -> set[str]:
    query = select(group_grants.c.id).where(group_grants.c.group_id == group.id)
    return set(tx.conn.execute(query).scalars())


_GROUPS_OF_MEMBERS = (
    select(group_members.c.member_id, groups.c.id, groups.c.display_name)
    .join(groups, groups.c.id == group_members.c.group_id)
    .where(group_members.c.member_id.in_(bindparam("ids", expanding=True)))
    .order_by(groups.c.seq)
)


# A single member's groups (every lookup and write renders one member): prepared.
_GROUPS_OF_MEMBER = Prepared(
    select(groups.c.id, groups.c.display_name)
    .join(groups, groups.c.id == group_members.c.group_id)
    .where(group_members.c.member_id == bindparam("member_id"))
    .order_by(groups.c.seq)
)


def groups_of_member_later(tx: Tx, member_id: str) -> Callable[[], list[tuple[str, str]]]:
    """A member's groups (as `groups_of_members`), read with the next statement whose
    result is read, or only if asked for (`Prepared.when_read`): call the function returned
    for them, before any change of the member's groups."""
    rows = _GROUPS_OF_MEMBER.when_read(driver(tx.conn), {"member_id": member_id})
    return lambda: [(group_id, name) for group_id, name in rows()]


def groups_of_members(tx: Tx, member_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """(group id, displayName) of each member's groups, in one query for a whole page."""
    if len(member_ids) == 1:
        [member_id] = member_ids
        rows = _GROUPS_OF_MEMBER.all(driver(tx.conn), {"member_id": member_id})
        return {member_id: [(group_id, name) for group_id, name in rows]}
    result: dict[str, list[tuple[str, str]]] = {m: [] for m in member_ids}
    for chunk in _chunks(list(member_ids)):
        for member_id, group_id, name in tx.conn.execute(_GROUPS_OF_MEMBERS, {"ids": list(chunk)}):
            result[member_id].append((group_id, name))
    return result


def member_refs(tx: Tx, group_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """(member id, userName) of each group's members, in one query for a whole page."""
    result: dict[str, list[tuple[str, str]]] = {g: [] for g in group_ids}
    for chunk in _chunks(list(group_ids)):
        rows = tx.conn.execute(
            select(group_members.c.group_id, members.c.id, members.c.user_name)
            .join(members, members.c.id == group_members.c.member_id)
            .where(group_members.c.group_id.in_(chunk))
            .order_by(members.c.seq)
        )
        for group_id, member_id, name in rows:
            result[group_id].append((member_id, name))
    return result


def drop_grants(tx: Tx, org: Org, condition: ColumnElement[bool]) -> None:
    """Delete the grants matching `condition` as removals (an audit entry and a
    `group.grant_removed` event each): one removed in the console, or those a deleted role,
    project, team or group takes along. The caller watches access."""
    rows = tx.conn.execute(
        delete(group_grants)
        .where(group_grants.c.org_id == org.id, condition)
        .returning(group_grants)
    ).all()
    if not rows:
        return
    ids = {row.group_id for row in rows}
    owners = tx.conn.execute(select(groups).where(groups.c.id.in_(ids)))
    found = {group.id: group for group in map(group_from_row, owners)}
    for row in rows:
        group = found[row.group_id]
        audit.record(tx, org.id, "group.grant_removed", "group", group.id, before={"grant": row.id})
        _emit_grant(tx, org, "group.grant_removed", group, row.id, Grant.of_row(row))
