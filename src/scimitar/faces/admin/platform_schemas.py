"""JSON Schemas of the host platform's bodies (tenants, org tokens made by an operator,
setup links), closed like the rest of the admin API's (`schemas.py`)."""

from __future__ import annotations

from scimitar.domain.identity.setup_portal import MAX_LIFETIME, MIN_LIFETIME, LinkState
from scimitar.faces.admin.schemas import (
    INTEGER,
    NULLABLE_STRING,
    NULLABLE_TIME,
    STRING,
    STRINGS,
    TIME,
    Schema,
    array_of,
    closed,
    cursor_page_of,
    enum,
)

_POLICY = enum("allow", "reject")
_TENANT_SETTINGS: dict[str, Schema] = {
    "name": {**STRING, "maxLength": 200},
    "domains": STRINGS,
    "group_prefix": {**STRING, "maxLength": 63},
}

PLATFORM_COMPONENTS: dict[str, Schema] = {
    "Tenant": closed(
        {
            "id": STRING,
            "slug": STRING,
            "name": STRING,
            "domains": STRINGS,
            "group_prefix": STRING,
            "email_changes": _POLICY,
            "custom_groups": _POLICY,
            "provisioning_mode": enum("live", "dry_run"),
            "created": TIME,
            "last_modified": TIME,
        }
    ),
    "TenantList": closed(
        {"orgs": array_of("Tenant"), "total": INTEGER, "limit": INTEGER, "offset": INTEGER}
    ),
    "TenantCreate": closed(
        {
            **_TENANT_SETTINGS,
            "slug": {**STRING, "maxLength": 63},
            "owner_email": STRING,
            "owner_name": {**STRING, "maxLength": 200},
        },
        required=("name", "owner_email"),
    ),
    "TenantPatch": closed(
        {
            **_TENANT_SETTINGS,
            "email_changes": _POLICY,
            "custom_groups": _POLICY,
            "provisioning_mode": enum("live", "dry_run"),
        },
        required=(),
    ),
    "OrgApiTokenCreated": closed(
        {
            "id": STRING,
            "name": STRING,
            "hint": STRING,
            "active": {"type": "boolean"},
            "created_by": STRING,
            "created": TIME,
            "last_used": NULLABLE_TIME,
            "token": {**STRING, "pattern": "^sat-"},
        }
    ),
    "SetupLinkCreate": closed(
        {
            "expires_in": {
                **INTEGER,
                "minimum": int(MIN_LIFETIME.total_seconds()),
                "maximum": int(MAX_LIFETIME.total_seconds()),
                "description": "seconds until the link expires (default 7 days)",
            }
        },
        required=(),
    ),
    "SetupLinkCreated": closed({"id": STRING, "url": STRING, "expires_at": TIME}),
    "SetupLink": closed(
        {
            "id": STRING,
            "state": enum(*(s.value for s in LinkState)),
            "created_by": STRING,
            "created": TIME,
            "expires_at": TIME,
            "used_at": NULLABLE_TIME,
            "revoked_at": NULLABLE_TIME,
        }
    ),
    "SetupLinkList": closed({"setup_links": array_of("SetupLink")}),
    "OperatorAuditEntry": closed(
        {
            "id": INTEGER,
            "at": TIME,
            "actor_kind": STRING,
            "actor": STRING,
            "action": STRING,
            "org_id": NULLABLE_STRING,
            "org_slug": NULLABLE_STRING,
            "resource_type": STRING,
            "resource_id": NULLABLE_STRING,
            "detail": {"type": ["object", "null"]},
        }
    ),
    "OperatorAuditPage": cursor_page_of("OperatorAuditEntry"),
}
