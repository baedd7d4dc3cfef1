"""Adding one member to a group: what an identity provider sends for each assignment.

The general path (`group_store.add_members`) reads the membership in chunks and inserts
with `INSERT … SELECT` per chunk, one round trip each. For one member, its three reads
(is the member active, locked against a concurrent deactivation where writers run
concurrently; is it in the group already; does the group grant access) are prepared and
sent together, and the insert travels with the commit where the lock already settles
whether it inserts.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from scimitar.domain.access import changes
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Group, GroupKind, Org
from scimitar.domain.records import audit
from scimitar.storage.engines import serialises_writers
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import UUID, Timestamp, group_grants, group_members, members

_ACTIVE_QUERY = select(members.c.id).where(
    members.c.org_id == bindparam("org_id"),
    members.c.id == bindparam("member_id"),
    members.c.active.is_(True),
)
_ACTIVE = Prepared(_ACTIVE_QUERY)
#: Share-locked until the transaction ends: a concurrent deactivation waits for it.
_ACTIVE_LOCKED = Prepared(_ACTIVE_QUERY.with_for_update(read=True))
_PRESENT = Prepared(
    select(group_members.c.member_id).where(
        group_members.c.group_id == bindparam("group_id"),
        group_members.c.member_id == bindparam("member_id"),
    )
)
_GRANTED = Prepared(
    select(group_grants.c.id).where(group_grants.c.group_id == bindparam("group_id")).limit(1)
)
_INSERT = Prepared(
    insert(group_members).from_select(
        ["group_id", "member_id", "org_id", "added"],
        select(
            bindparam("group_id", type_=UUID),
            members.c.id,
            bindparam("org_id", type_=UUID),
            bindparam("added", type_=Timestamp),
        ).where(
            members.c.org_id == bindparam("member_org"),
            members.c.id == bindparam("member_id"),
            members.c.active.is_(True),
        ),
    )
)


def add_one_member(tx: Tx, org: Org, group: Group, member_id: str) -> bool:
    """`group_store.add_members` for one id: refused with the id named when it is not an
    active member of `org`; True when it was not a member before."""
    db = driver(tx.conn)
    values = {
        "org_id": org.id,
        "member_org": org.id,
        "member_id": member_id,
        "group_id": group.id,
        "added": tx.now,
    }
    locked = not serialises_writers(tx.conn)
    active = (_ACTIVE_LOCKED if locked else _ACTIVE).later(db, values)
    present = _PRESENT.later(db, values)
    granted = _GRANTED.later(db, values) if group.kind is GroupKind.CUSTOM else None
    if not active():
        raise _not_addable(group, member_id)
    if present():
        return False
    affected = [member_id] if granted is None or granted() else []
    with changes.watch(tx, org, affected):
        if locked:
            # The member is share-locked active and the group row is locked by the caller:
            # the insert adds the row; nothing to wait for.
            _INSERT.send(db, values)
        elif _INSERT.run(db, values) != 1:
            raise _not_addable(group, member_id)
        audit.record(
            tx, org.id, "group.members_added", "group", group.id, after={"members": [member_id]}
        )
        group_store.emit_members_added(tx, org, group, [member_id])
    return True


def _not_addable(group: Group, member_id: str) -> InvalidError:
    return InvalidError(
        f"Cannot add {member_id!r} to group {group.display_name!r}: "
        "no active user with that id exists in this organization"
    )
