"""What the console and the admin API list: members and groups by plain filters (text,
status, role, kind), a page at a time; the audit and provisioning logs newest first, paged
by an id cursor (`before`), so a page stays put while new entries arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select

from scimitar.domain.context import Tx, fold
from scimitar.domain.directory.group_store import group_from_row
from scimitar.domain.directory.people import member_from_row
from scimitar.domain.directory.search import ResultPage
from scimitar.domain.models import Group, GroupKind, Member, Org, OrgRole
from scimitar.domain.records.provisioning import LoggedRequest, logged_request
from scimitar.storage.tables import (
    audit_log,
    group_members,
    groups,
    member_emails,
    members,
    provisioning_log,
)

MAX_PAGE = 200


@dataclass(frozen=True)
class MemberFilter:
    text: str = ""
    #: "active", "deactivated", or None for both.
    status: str | None = None
    role: OrgRole | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    actor_label: str
    action: str
    resource_type: str
    resource_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def _member_condition(org: Org, wanted: MemberFilter) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = members.c.org_id == org.id
    text = fold(wanted.text.strip())
    if text:
        email_match = exists().where(
            member_emails.c.member_id == members.c.id,
            member_emails.c.value_key.contains(text, autoescape=True),
        )
        condition = condition & or_(
            members.c.user_name_key.contains(text, autoescape=True),
            members.c.display_name_key.contains(text, autoescape=True),
            members.c.given_name_key.contains(text, autoescape=True),
            members.c.family_name_key.contains(text, autoescape=True),
            email_match,
        )
    if wanted.status is not None:
        condition = condition & (members.c.active.is_(wanted.status == "active"))
    if wanted.role is not None:
        condition = condition & (members.c.org_role == wanted.role.value)
    return condition


def members_page(
    tx: Tx, org: Org, wanted: MemberFilter, *, limit: int = 50, offset: int = 0
) -> ResultPage[Member]:
    """Members matching a text (userName, names, emails), status and org role, oldest first."""
    condition = _member_condition(org, wanted)
    total = tx.conn.execute(select(func.count()).where(condition)).scalar_one()
    rows = tx.conn.execute(
        select(members)
        .where(condition)
        .order_by(members.c.seq)
        .limit(_limit(limit))
        .offset(max(0, offset))
    )
    return ResultPage(int(total), [member_from_row(row) for row in rows])


def groups_page(
    tx: Tx,
    org: Org,
    *,
    kind: GroupKind | None = None,
    text: str = "",
    limit: int = 50,
    offset: int = 0,
) -> ResultPage[tuple[Group, int]]:
    """Groups of a kind whose name contains a text, each with its member count."""
    condition: ColumnElement[bool] = groups.c.org_id == org.id
    if kind is not None:
        condition = condition & (groups.c.kind == kind.value)
    if text.strip():
        condition = condition & groups.c.display_name_key.contains(
            fold(text.strip()), autoescape=True
        )
    total = tx.conn.execute(select(func.count()).where(condition)).scalar_one()
    count = (
        select(func.count())
        .where(group_members.c.group_id == groups.c.id)
        .correlate(groups)
        .scalar_subquery()
    )
    rows = tx.conn.execute(
        select(groups, count.label("member_count"))
        .where(condition)
        .order_by(groups.c.seq)
        .limit(_limit(limit))
        .offset(max(0, offset))
    )
    return ResultPage(int(total), [(group_from_row(row), int(row.member_count)) for row in rows])


def group_members_page(
    tx: Tx, org: Org, group: Group, *, limit: int = 50, offset: int = 0
) -> ResultPage[Member]:
    """A group's members, in the order they joined."""
    condition = (group_members.c.group_id == group.id) & (group_members.c.org_id == org.id)
    total = tx.conn.execute(select(func.count()).where(condition)).scalar_one()
    rows = tx.conn.execute(
        select(members)
        .join(group_members, group_members.c.member_id == members.c.id)
        .where(condition)
        .order_by(group_members.c.added, members.c.seq)
        .limit(_limit(limit))
        .offset(max(0, offset))
    )
    return ResultPage(int(total), [member_from_row(row) for row in rows])


def audit_entries(
    tx: Tx,
    org: Org,
    *,
    action: str = "",
    actor_kind: str = "",
    resource_type: str = "",
    resource_id: str = "",
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Audit entries newest first; `action` matches as a prefix (`member.` = every member
    change)."""
    query = select(audit_log).where(audit_log.c.org_id == org.id)
    if action:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    if actor_kind:
        query = query.where(audit_log.c.actor_kind == actor_kind)
    if resource_type:
        query = query.where(audit_log.c.resource_type == resource_type)
    if resource_id:
        query = query.where(audit_log.c.resource_id == resource_id)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    rows = tx.conn.execute(query.order_by(audit_log.c.id.desc()).limit(_limit(limit)))
    return [
        AuditEntry(
            r.id,
            r.at,
            r.actor_kind,
            r.actor_id,
            r.actor_label,
            r.action,
            r.resource_type,
            r.resource_id,
            r.before,
            r.after,
        )
        for r in rows
    ]


def provisioning_entries(
    tx: Tx,
    org: Org,
    *,
    method: str = "",
    status_class: int | None = None,
    path: str = "",
    before: int | None = None,
    limit: int = 50,
) -> list[LoggedRequest]:
    """SCIM requests newest first; `status_class` 4 means every 4xx answer."""
    query = select(provisioning_log).where(provisioning_log.c.org_id == org.id)
    if method:
        query = query.where(provisioning_log.c.method == method.upper())
    if status_class is not None:
        low = status_class * 100
        query = query.where(provisioning_log.c.status >= low, provisioning_log.c.status < low + 100)
    if path:
        query = query.where(provisioning_log.c.path.contains(path, autoescape=True))
    if before is not None:
        query = query.where(provisioning_log.c.id < before)
    rows = tx.conn.execute(query.order_by(provisioning_log.c.id.desc()).limit(_limit(limit)))
    return [logged_request(r) for r in rows]
