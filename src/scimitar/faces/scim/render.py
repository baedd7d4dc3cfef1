"""Members and groups as SCIM resources (RFC 7643 §4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scimitar.domain.context import utc
from scimitar.domain.directory import people as member_rules
from scimitar.domain.models import Group, Member
from scimitar.protocol.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER, SCIMITAR_USER


def etag(version: int) -> str:
    return f'W/"{version}"'


def timestamp(value: datetime) -> str:
    return utc(value).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _meta(
    kind: str, location: str, created: datetime, modified: datetime, version: int
) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": etag(version),
    }


def user(member: Member, base: str, groups: list[tuple[str, str]] | None) -> dict[str, Any]:
    """`groups` is None when the client does not want it (it is then not even queried)."""
    doc = member_rules.document(member)
    schemas = [CORE_USER, SCIMITAR_USER]
    if ENTERPRISE_USER in doc:
        schemas.insert(1, ENTERPRISE_USER)
    resource: dict[str, Any] = {"schemas": schemas, "id": member.id}
    if member.external_id is not None:
        resource["externalId"] = member.external_id
    resource.update((k, v) for k, v in doc.items() if k != "externalId")
    if groups:
        resource["groups"] = [
            {"value": gid, "$ref": f"{base}/Groups/{gid}", "display": name, "type": "direct"}
            for gid, name in groups
        ]
    resource["meta"] = _meta(
        "User", f"{base}/Users/{member.id}", member.created, member.last_modified, member.version
    )
    return resource


def group(group: Group, base: str, members: list[tuple[str, str]] | None) -> dict[str, Any]:
    """`members` is None when the client excluded it (it is then not even queried)."""
    resource: dict[str, Any] = {"schemas": [CORE_GROUP], "id": group.id}
    if group.external_id is not None:
        resource["externalId"] = group.external_id
    resource["displayName"] = group.display_name
    if members:
        resource["members"] = [
            {"value": mid, "$ref": f"{base}/Users/{mid}", "display": name, "type": "User"}
            for mid, name in members
        ]
    resource["meta"] = _meta(
        "Group", f"{base}/Groups/{group.id}", group.created, group.last_modified, group.version
    )
    return resource
