"""Domain records as plain JSON-ready dicts: the admin API returns them, the console's
templates render them, so the two faces always show the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scimitar.domain.access.effective import ProjectAccess
from scimitar.domain.access.grants import NamedGrant
from scimitar.domain.context import Tx, utc
from scimitar.domain.directory.listings import AuditEntry
from scimitar.domain.identity import sso
from scimitar.domain.identity.keys import KeyInfo, TokenInfo
from scimitar.domain.identity.setup_portal import SetupLink
from scimitar.domain.models import Group, Member, Org, Project, Role, Team
from scimitar.domain.records.provisioning import LoggedRequest


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc(value).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def org_view(org: Org) -> dict[str, Any]:
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "allowed_domains": list(org.allowed_domains),
        "group_prefix": org.group_prefix,
        "email_changes": org.email_changes.value,
        "custom_groups": org.custom_groups.value,
        "provisioning_mode": org.provisioning_mode.value,
        "created": iso(org.created),
        "last_modified": iso(org.last_modified),
    }


def scim_key_view(info: KeyInfo | None, scim_base_url: str) -> dict[str, Any]:
    key = None
    if info is not None:
        key = {
            "id": info.id,
            "hint": info.hint,
            "active": info.active,
            "created_by": info.created_by,
            "created": iso(info.created),
            "last_used": iso(info.last_used),
            "deactivated": iso(info.deactivated),
        }
    return {
        "status": "enabled" if info is not None and info.active else "not_enabled",
        "scim_base_url": scim_base_url,
        "key": key,
    }


def token_view(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "hint": info.hint,
        "active": info.active,
        "created_by": info.created_by,
        "created": iso(info.created),
        "last_used": iso(info.last_used),
    }


def member_view(member: Member) -> dict[str, Any]:
    name = member.attributes.get("name") or {}
    emails = [e["value"] for e in member.attributes.get("emails", []) if "value" in e]
    return {
        "id": member.id,
        "user_name": member.user_name,
        "display_name": member.display_name,
        "given_name": name.get("givenName"),
        "family_name": name.get("familyName"),
        "emails": emails,
        "external_id": member.external_id,
        "active": member.active,
        "status": "active" if member.active else "deactivated",
        "org_role": member.org_role.value,
        "source": member.source,
        "created": iso(member.created),
        "last_modified": iso(member.last_modified),
    }


def access_view(access: ProjectAccess) -> dict[str, Any]:
    return {
        "project_id": access.project_id,
        "project": access.project,
        "role": access.role,
        "custom_roles": list(access.custom_roles),
        "permissions": list(access.permissions),
        "teams": [{"team": team, "team_role": role} for team, role in access.teams.items()],
        "reasons": [
            {
                "via": reason.via,
                "group_id": reason.group_id,
                "group_name": reason.group_name,
                "role": reason.role,
                "team": reason.team,
                "team_role": reason.team_role,
            }
            for reason in access.reasons
        ],
    }


def grant_view(grant: NamedGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "project_id": grant.project_id,
        "project": grant.project,
        "role_id": grant.role_id,
        "role": grant.role,
        "team_id": grant.team_id,
        "team": grant.team,
        "team_role": grant.team_role,
        "description": grant.describe(),
    }


def role_view(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "builtin": role.builtin,
        "permissions": list(role.permissions),
    }


def team_view(team: Team) -> dict[str, Any]:
    return {"id": team.id, "project_id": team.project_id, "name": team.name}


def project_view(project: Project, role_names: dict[str, str], teams: list[Team]) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "default_role_id": project.default_role_id,
        "default_role": role_names.get(project.default_role_id),
        "teams": [team_view(team) for team in teams if team.project_id == project.id],
    }


def group_view(group: Group, member_count: int) -> dict[str, Any]:
    return {
        "id": group.id,
        "display_name": group.display_name,
        "kind": group.kind.value,
        "member_count": member_count,
        "external_id": group.external_id,
        "project_id": group.project_id,
        "role_id": group.role_id,
        "team_id": group.team_id,
        "team_role": group.team_role.value if group.team_role else None,
        "created": iso(group.created),
        "last_modified": iso(group.last_modified),
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor_kind": entry.actor_kind,
        "actor_id": entry.actor_id,
        "actor": entry.actor_label,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "before": entry.before,
        "after": entry.after,
    }


def request_view(entry: LoggedRequest) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "latency_ms": entry.latency_ms,
        "user_agent": entry.user_agent,
        "detail": entry.detail,
        "request_body": entry.request_body,
        "dry_run": entry.dry_run,
        "changes": entry.changes,
    }


def cursor_page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """A newest-first page from `limit + 1` fetched items: `next_before` continues it, and is
    null on the last page."""
    page = items[:limit]
    return {"entries": page, "next_before": page[-1]["id"] if len(items) > limit else None}


def offset_page(
    key: str, items: list[dict[str, Any]], total: int, limit: int, offset: int
) -> dict[str, Any]:
    return {key: items, "total": total, "limit": limit, "offset": offset}


def setup_link_view(link: SetupLink, tx: Tx) -> dict[str, Any]:
    return {
        "id": link.id,
        "state": link.state(tx.now).value,
        "created_by": link.created_by,
        "created": iso(link.created),
        "expires_at": iso(link.expires),
        "used_at": iso(link.used),
        "revoked_at": iso(link.revoked),
    }


def setup_link_url(public_url: str, secret: str) -> str:
    return f"{public_url}/console/setup-links/{secret}"


def sso_view(connection: sso.Connection, public_url: str) -> dict[str, Any]:
    return {
        "issuer": connection.issuer,
        "client_id": connection.client_id,
        "redirect_uri": sso.redirect_uri(public_url),
        "authorization_endpoint": connection.provider.authorization_endpoint,
        "token_endpoint_auth_method": connection.provider.token_auth_method,
        "created": iso(connection.created),
        "last_modified": iso(connection.last_modified),
    }
