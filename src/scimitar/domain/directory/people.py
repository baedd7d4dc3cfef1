"""Members (SCIM Users) and their lifecycle (PRODUCT.md §1 "Lifecycle").

A member's SCIM attributes are kept as a document (see `protocol.resource`), except two
that the domain owns and stores in columns: `active` and the org role (`orgRole` of the
Scimitar extension). `document()` puts them back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from scimitar.domain.access import changes, effective
from scimitar.domain.context import Tx, fold, new_id, utc
from scimitar.domain.directory import group_store
from scimitar.domain.errors import ConflictError, InvalidError, NotFoundError, PolicyError
from scimitar.domain.events import feed
from scimitar.domain.models import Member, Org, OrgRole, Policy
from scimitar.domain.records import audit
from scimitar.protocol.schema import SCIMITAR_USER
from scimitar.storage.engines import prepared_insert_unless_taken
from scimitar.storage.member_columns import member_row, member_row_columns
from scimitar.storage.prepared import Prepared, driver, prepared_insert
from scimitar.storage.tables import (
    console_credentials,
    console_sessions,
    direct_assignments,
    group_members,
    groups,
    member_emails,
    members,
)

OWNER_GUARD = "The organization owner cannot be modified via SCIM"
MULTIPLE_OWNERS = "Cannot set multiple owners"
INACTIVE_ROLE = (
    "A deactivated member holds no org role; reactivate them in the identity provider first"
)


def member_from_row(row: Row[Any]) -> Member:
    return Member(
        id=row.id,
        org_id=row.org_id,
        seq=row.seq,
        user_name=row.user_name,
        external_id=row.external_id,
        display_name=row.display_name,
        active=row.active,
        org_role=OrgRole(row.org_role),
        source=row.source,
        attributes=row.attributes,
        version=row.version,
        created=utc(row.created),
        last_modified=utc(row.last_modified),
    )


def document(member: Member) -> dict[str, Any]:
    """The member's full SCIM document: stored attributes plus `active` and `orgRole`."""
    doc = dict(member.attributes)
    doc["active"] = member.active
    doc[SCIMITAR_USER] = {"orgRole": member.org_role.value}
    return doc


def _split(document: dict[str, Any]) -> tuple[dict[str, Any], bool | None, OrgRole | None]:
    """Separate the domain-owned `active` and `orgRole` from the stored attributes."""
    attrs = dict(document)
    active = attrs.pop("active", None)
    extension = attrs.pop(SCIMITAR_USER, None) or {}
    role = extension.get("orgRole")
    return attrs, active, (OrgRole(role) if role else None)


def _emails(attrs: dict[str, Any]) -> list[str]:
    return [e["value"] for e in attrs.get("emails", []) if isinstance(e.get("value"), str)]


def _check_domains(org: Org, attrs: dict[str, Any]) -> None:
    for address in (attrs["userName"], *_emails(attrs)):
        if not org.allows_email(address):
            raise InvalidError(f"User {address} is not allowed to be created in this organization")


_INSERT_EMAILS = prepared_insert(member_emails)
_DELETE_EMAILS = Prepared(
    delete(member_emails).where(member_emails.c.member_id == bindparam("member_id"))
)


def _write_emails(
    tx: Tx, org: Org, member_id: str, attrs: dict[str, Any], *, new: bool = False
) -> None:
    if not new:
        _DELETE_EMAILS.send(driver(tx.conn), {"member_id": member_id})
    rows = [
        {
            "member_id": member_id,
            "org_id": org.id,
            "position": position,
            "value": email["value"],
            "value_key": fold(email["value"]),
            "type": email.get("type"),
            "primary": bool(email.get("primary", False)),
        }
        for position, email in enumerate(attrs.get("emails", []))
        if isinstance(email.get("value"), str)
    ]
    if rows:
        _INSERT_EMAILS.run_many(driver(tx.conn), rows)


def _violates_one_owner(exc: IntegrityError) -> bool:
    """Whether the violated constraint is the one-Owner index, not userName uniqueness.

    PostgreSQL names the constraint; SQLite names the columns, and only the one-Owner
    index is on `org_id` alone. (The message text also holds the userName, so searching it
    for "owner" would misread `joe.owner@…`.)"""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if constraint is not None:
        return bool(constraint == "uq_members_one_owner")
    return str(exc.orig).strip().endswith("members.org_id")


def _taken(user_name: str) -> ConflictError:
    return ConflictError(f"A user with userName {user_name!r} already exists in this organization")


def _snapshot(member: Member) -> dict[str, Any]:
    return {**document(member), "id": member.id}


def _changed_fields(before: Member, after: Member) -> list[str]:
    """Top-level SCIM attributes that differ; the org role is named `orgRole`."""
    old, new = document(before), document(after)
    names = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    return ["orgRole" if name == SCIMITAR_USER else name for name in names]


def _emit(tx: Tx, org: Org, type: str, member: Member, changed: list[str] | None = None) -> None:
    feed.emit(
        tx,
        org.id,
        type,
        "member",
        member.id,
        version=member.version,
        member_id=member.id,
        data=_snapshot(member),
        changed=changed,
    )


def _emit_role_change(tx: Tx, org: Org, before: Member, after: Member) -> None:
    if before.org_role is not after.org_role:
        feed.emit(
            tx,
            org.id,
            "member.org_role_changed",
            "member",
            after.id,
            version=after.version,
            member_id=after.id,
            data={
                "id": after.id,
                "userName": after.user_name,
                "before": before.org_role.value,
                "after": after.org_role.value,
            },
            changed=["orgRole"],
        )


_INSERT_MEMBER = prepared_insert_unless_taken(
    members, ["org_id", "user_name_key"], exclude={"seq"}, returning=members.c.seq
)


def create_member(
    tx: Tx,
    org: Org,
    document: dict[str, Any],
    *,
    org_role: OrgRole | None = None,
    source: str = "scim",
) -> Member:
    """Add a member (SCIM POST /Users). The document comes from `protocol.resource.normalize`."""
    attrs, active, requested_role = _split(document)
    role = org_role or requested_role or OrgRole.MEMBER
    _check_domains(org, attrs)
    if role is OrgRole.OWNER and org_role is None:
        raise InvalidError(MULTIPLE_OWNERS)
    if active is False:  # created outside the organization: no org role (see update_member)
        role = OrgRole.MEMBER
    db = driver(tx.conn)
    values = {
        "id": new_id(),
        "org_id": org.id,
        "active": True if active is None else active,
        "org_role": role.value,
        "source": source,
        "version": 1,
        "created": tx.now,
        "last_modified": tx.now,
        **member_row(attrs),
    }
    # The unique constraint on the userName decides, races included: a taken name inserts
    # nothing and leaves the transaction usable (a ConflictError must leave the caller's
    # usable). Any other violation (a second Owner) is an error.
    try:
        inserted = _INSERT_MEMBER.first(db, values)
    except IntegrityError as exc:
        if _violates_one_owner(exc):
            raise InvalidError(MULTIPLE_OWNERS) from None
        raise _taken(attrs["userName"]) from None
    if inserted is None:
        raise _taken(attrs["userName"])
    seq = inserted.seq
    _write_emails(tx, org, values["id"], attrs, new=True)
    member = Member(
        id=values["id"],
        org_id=org.id,
        seq=seq,
        user_name=values["user_name"],
        external_id=values["external_id"],
        display_name=values["display_name"],
        active=values["active"],
        org_role=role,
        source=source,
        attributes=attrs,
        version=1,
        created=tx.now,
        last_modified=tx.now,
    )
    member_id = member.id
    audit.record(tx, org.id, "member.created", "member", member_id, after=_snapshot(member))
    _emit(tx, org, "member.created", member)
    return member


_MEMBER = select(members).where(
    members.c.org_id == bindparam("org_id"), members.c.id == bindparam("member_id")
)
_GET_MEMBER = Prepared(_MEMBER)
_GET_MEMBER_FOR_UPDATE = Prepared(_MEMBER.with_for_update())


def get_member(tx: Tx, org: Org, member_id: str, *, for_update: bool = False) -> Member:
    return get_member_later(tx, org, member_id, for_update=for_update)()


def get_member_later(
    tx: Tx, org: Org, member_id: str, *, for_update: bool = False
) -> Callable[[], Member]:
    """`get_member`, its statement sent now and its row read (or `NotFoundError` raised)
    when the function returned is called: statements sent after it share its round trip
    (`Prepared.later`), and the server runs them after it (after its lock, too)."""
    statement = _GET_MEMBER_FOR_UPDATE if for_update else _GET_MEMBER
    rows = statement.later(driver(tx.conn), {"org_id": org.id, "member_id": member_id})

    def member() -> Member:
        found = rows()
        if not found:
            raise NotFoundError(f"User {member_id} not found")
        return member_from_row(found[0])

    return member


def find_member(tx: Tx, org: Org, user_name: str) -> Member | None:
    row = tx.conn.execute(
        select(members).where(
            members.c.org_id == org.id, members.c.user_name_key == fold(user_name)
        )
    ).first()
    return member_from_row(row) if row else None


def count_members(tx: Tx, org: Org) -> int:
    query = select(func.count()).select_from(members).where(members.c.org_id == org.id)
    return int(tx.conn.execute(query).scalar_one())


def list_members(tx: Tx, org: Org, *, limit: int = 100, offset: int = 0) -> list[Member]:
    query = (
        select(members)
        .where(members.c.org_id == org.id)
        .order_by(members.c.seq)
        .limit(limit)
        .offset(offset)
    )
    return [member_from_row(row) for row in tx.conn.execute(query)]


def _check_role_change(tx: Tx, member: Member, role: OrgRole) -> None:
    if role is member.org_role:
        return
    if member.org_role is OrgRole.OWNER:
        raise PolicyError(OWNER_GUARD if tx.actor.over_scim else "Transfer ownership first")
    if role is OrgRole.OWNER:
        raise InvalidError(MULTIPLE_OWNERS)


def _check_email_policy(org: Org, member: Member, attrs: dict[str, Any]) -> None:
    if org.email_changes is not Policy.REJECT:
        return
    before = {fold(member.user_name), *(fold(e) for e in _emails(member.attributes))}
    after = {fold(attrs["userName"]), *(fold(e) for e in _emails(attrs))}
    if before != after:
        raise PolicyError("Email changes are disabled for this organization")


_UPDATE_MEMBER = Prepared(
    update(members)
    .where(members.c.id == bindparam("member_id"))
    .values(
        {
            name: bindparam(name)
            for name in (
                *member_row_columns(),
                "active",
                "org_role",
                "version",
                "last_modified",
            )
        }
    )
)


def update_member(tx: Tx, org: Org, member: Member, document: dict[str, Any]) -> Member:
    """Replace a member's document (SCIM PUT, or the result of a PATCH).

    An absent `active` or `orgRole` leaves it unchanged (Okta's PUT may omit `active`).
    Deactivation removes the person from the organization (wipes every membership, direct
    assignment and org role) but keeps the resource; reactivation makes them a member again
    with no access.
    """
    attrs, active, role = _split(document)
    active = member.active if active is None else active
    role = member.org_role if role is None else role
    if member.org_role is OrgRole.OWNER and not active:
        raise PolicyError(OWNER_GUARD if tx.actor.over_scim else "Transfer ownership first")
    _check_role_change(tx, member, role)
    if not active:
        # Out of the organization, a person holds no org role. An IdP's deactivating PUT
        # still carries the mapped role: over SCIM that is not an error, and it is not kept;
        # an admin asking for it in the console or the API is told why it cannot be.
        if role not in (OrgRole.MEMBER, member.org_role) and not tx.actor.over_scim:
            raise PolicyError(INACTIVE_ROLE)
        role = OrgRole.MEMBER
    if fold(attrs["userName"]) != fold(member.user_name) or _emails(attrs) != _emails(
        member.attributes
    ):
        _check_email_policy(org, member, attrs)
        _check_domains(org, attrs)
    if attrs == member.attributes and active == member.active and role is member.org_role:
        return member
    deactivating = member.active and not active
    if deactivating:
        finish_access_watch = changes.start_watch(tx, org, [member.id], leaving=True)
        report_leaving = _leave_org(tx, org, member)
    values = {
        **member_row(attrs),
        "active": active,
        "org_role": role.value,
        "version": member.version + 1,
        "last_modified": tx.now,
        "member_id": member.id,
    }
    db = driver(tx.conn)
    if fold(attrs["userName"]) == fold(member.user_name):
        # Nothing unique changes (the org role was checked above): no error to wait for.
        _UPDATE_MEMBER.send(db, values)
    else:
        try:
            _UPDATE_MEMBER.run(db, values)
        except IntegrityError:
            raise _taken(attrs["userName"]) from None
    if _emails(attrs) != _emails(member.attributes):
        _write_emails(tx, org, member.id, attrs)
    # As the row now is, without reading it back.
    updated = replace(
        member,
        user_name=values["user_name"],
        external_id=values["external_id"],
        display_name=values["display_name"],
        active=active,
        org_role=role,
        attributes=attrs,
        version=values["version"],
        last_modified=tx.now,
    )
    action = (
        "member.deactivated"
        if deactivating
        else "member.reactivated"
        if active and not member.active
        else "member.updated"
    )
    audit.record(
        tx, org.id, action, "member", member.id, before=_snapshot(member), after=_snapshot(updated)
    )
    _emit(tx, org, action, updated, _changed_fields(member, updated))
    _emit_role_change(tx, org, member, updated)
    if deactivating:
        report_leaving()
        finish_access_watch()
    return updated


def _leave_org(tx: Tx, org: Org, member: Member) -> Callable[[], None]:
    """What a deactivated or removed person loses: every group membership, every direct
    assignment, the console sign-in and its sessions. Returns what reports it, to be called
    after the member's own event: `group.member_removed` and `member.assignment_removed`
    for each. The statements are sent together (one round trip, pipelined), their results
    read by the report."""
    db = driver(tx.conn)
    values = {"member_id": member.id, "org_id": org.id}
    # Locked, then deleted: a membership removed concurrently is reported by its remover.
    left_groups = _GROUPS_LEFT.later(db, values)
    _DELETE_MEMBERSHIPS.send(db, values)
    assignments = _TAKE_ASSIGNMENTS.later(db, values)
    _DELETE_CREDENTIALS.send(db, values)
    _DELETE_SESSIONS.send(db, values)

    def report() -> None:
        group_store.emit_left(tx, org, left_groups(), member.id)
        effective.report_removed_assignments(tx, org, assignments())

    return report


_GROUPS_LEFT = Prepared(
    select(groups.c.id, groups.c.display_name, groups.c.kind)
    .join(group_members, group_members.c.group_id == groups.c.id)
    .where(group_members.c.member_id == bindparam("member_id"))
    .order_by(groups.c.seq)
    .with_for_update(of=group_members)
)
_DELETE_MEMBERSHIPS = Prepared(
    delete(group_members).where(group_members.c.member_id == bindparam("member_id"))
)
_TAKE_ASSIGNMENTS = Prepared(
    delete(direct_assignments)
    .where(
        direct_assignments.c.org_id == bindparam("org_id"),
        direct_assignments.c.member_id == bindparam("member_id"),
    )
    .returning(*direct_assignments.c)
)
_DELETE_CREDENTIALS = Prepared(
    delete(console_credentials).where(console_credentials.c.member_id == bindparam("member_id"))
)
_DELETE_SESSIONS = Prepared(
    delete(console_sessions).where(console_sessions.c.member_id == bindparam("member_id"))
)


def set_active(tx: Tx, org: Org, member: Member, active: bool) -> Member:
    return update_member(tx, org, member, {**document(member), "active": active})


def set_org_role(tx: Tx, org: Org, member: Member, role: OrgRole) -> Member:
    doc = document(member)
    doc[SCIMITAR_USER] = {"orgRole": role.value}
    return update_member(tx, org, member, doc)


def transfer_ownership(tx: Tx, org: Org, owner: Member, new_owner: Member) -> Member:
    """Make `new_owner` the Owner; the old Owner becomes an Admin. Console only."""
    if owner.org_role is not OrgRole.OWNER:
        raise PolicyError("Only the Owner can transfer ownership")
    if not new_owner.active:
        raise InvalidError("Ownership can only move to an active member")
    if new_owner.id == owner.id:
        return owner
    tx.conn.execute(
        update(members)
        .where(members.c.id == owner.id)
        .values(org_role=OrgRole.ADMIN.value, version=owner.version + 1, last_modified=tx.now)
    )
    tx.conn.execute(
        update(members)
        .where(members.c.id == new_owner.id)
        .values(org_role=OrgRole.OWNER.value, version=new_owner.version + 1, last_modified=tx.now)
    )
    audit.record(
        tx,
        org.id,
        "org.ownership_transferred",
        "member",
        new_owner.id,
        before={"owner": owner.id},
        after={"owner": new_owner.id},
    )
    for before in (owner, new_owner):
        after = get_member(tx, org, before.id)
        _emit(tx, org, "member.updated", after, ["orgRole"])
        _emit_role_change(tx, org, before, after)
    return get_member(tx, org, new_owner.id)


def remove_member(tx: Tx, org: Org, member: Member) -> None:
    """Remove a person from the organization: the SCIM resource disappears (GET → 404)."""
    if member.org_role is OrgRole.OWNER:
        raise PolicyError(OWNER_GUARD if tx.actor.over_scim else "The Owner cannot be removed")
    finish_access_watch = changes.start_watch(tx, org, [member.id], leaving=True)
    report_leaving = _leave_org(tx, org, member)
    tx.conn.execute(delete(members).where(members.c.id == member.id))
    audit.record(tx, org.id, "member.removed", "member", member.id, before=_snapshot(member))
    _emit(tx, org, "member.removed", member)
    report_leaving()
    finish_access_watch()
