"""JSON Schemas (OpenAPI 3.1 / JSON Schema 2020-12) of every admin API body.

Objects are closed (`additionalProperties: false`) and list every field, so the tests that
validate real answers against them catch any drift between the document and the code.
"""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import ActorKind

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
TIME: Schema = {"type": "string", "format": "date-time"}
NULLABLE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
STRINGS: Schema = {"type": "array", "items": STRING}
ANY_OBJECT: Schema = {"type": ["object", "null"]}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def closed(properties: dict[str, Schema], required: tuple[str, ...] | None = None) -> Schema:
    """An object with exactly these properties; all required unless `required` says."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": False,
    }


def _offset_page(key: str, item: str) -> Schema:
    return closed({key: array_of(item), "total": INTEGER, "limit": INTEGER, "offset": INTEGER})


def cursor_page_of(item: str) -> Schema:
    return closed({"entries": array_of(item), "next_before": {"type": ["integer", "null"]}})


_WEBHOOK: dict[str, Schema] = {
    "id": STRING,
    "url": STRING,
    "events": STRINGS,
    "enabled": BOOLEAN,
    "created": TIME,
    "last_modified": TIME,
}
_POLICY = enum("allow", "reject")
#: Requests per second (0: no limit; null: the deployment's default).
_RATE: Schema = {"type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000}
_ORG_ROLE = enum("Owner", "Admin", "Member")
_TEAM_ROLE = enum("Admin", "Member")

_ORG = {
    "id": STRING,
    "slug": STRING,
    "name": STRING,
    "allowed_domains": STRINGS,
    "group_prefix": STRING,
    "email_changes": _POLICY,
    "custom_groups": _POLICY,
    "provisioning_mode": enum("live", "dry_run"),
    "sso_required": BOOLEAN,
    "created": TIME,
    "last_modified": TIME,
}

_KEY = closed(
    {
        "id": STRING,
        "hint": STRING,
        "active": BOOLEAN,
        "created_by": STRING,
        "created": TIME,
        "last_used": NULLABLE_TIME,
        "deactivated": NULLABLE_TIME,
    }
)
_KEY_STATUS = {
    "status": enum("enabled", "not_enabled"),
    "scim_base_url": STRING,
    "key": {"oneOf": [_KEY, {"type": "null"}]},
}

_TOKEN = {
    "id": STRING,
    "name": STRING,
    "hint": STRING,
    "active": BOOLEAN,
    "created_by": STRING,
    "created": TIME,
    "last_used": NULLABLE_TIME,
}

_MEMBER = {
    "id": STRING,
    "user_name": STRING,
    "display_name": NULLABLE_STRING,
    "given_name": NULLABLE_STRING,
    "family_name": NULLABLE_STRING,
    "emails": STRINGS,
    "external_id": NULLABLE_STRING,
    "active": BOOLEAN,
    "status": enum("active", "deactivated"),
    "org_role": _ORG_ROLE,
    "source": STRING,
    "created": TIME,
    "last_modified": TIME,
}

_REASON = closed(
    {
        "via": enum("role group", "team group", "custom group", "direct assignment"),
        "group_id": NULLABLE_STRING,
        "group_name": NULLABLE_STRING,
        "role": NULLABLE_STRING,
        "team": NULLABLE_STRING,
        "team_role": NULLABLE_STRING,
    }
)

_GROUP = {
    "id": STRING,
    "display_name": STRING,
    "kind": enum("role", "team", "custom"),
    "member_count": INTEGER,
    "external_id": NULLABLE_STRING,
    "project_id": NULLABLE_STRING,
    "role_id": NULLABLE_STRING,
    "team_id": NULLABLE_STRING,
    "team_role": {"type": ["string", "null"], "enum": ["Admin", "Member", None]},
    "created": TIME,
    "last_modified": TIME,
}

COMPONENTS: dict[str, Schema] = {
    "Error": closed({"error": closed({"code": STRING, "detail": STRING})}),
    "Org": closed(_ORG),
    "OrgSettings": closed(
        {
            "name": STRING,
            "allowed_domains": STRINGS,
            "group_prefix": STRING,
            "email_changes": _POLICY,
            "custom_groups": _POLICY,
            "provisioning_mode": enum("live", "dry_run"),
            "sso_required": BOOLEAN,
        },
        required=(),
    ),
    "RateLimits": closed({"scim_per_second": _RATE, "api_per_second": _RATE}),
    "RateLimitsUpdate": closed({"scim_per_second": _RATE, "api_per_second": _RATE}, required=()),
    "OwnershipTransfer": closed({"member_id": STRING}),
    "SsoConnection": closed(
        {
            "issuer": STRING,
            "client_id": STRING,
            "redirect_uri": STRING,
            "authorization_endpoint": STRING,
            "token_endpoint_auth_method": enum("client_secret_basic", "client_secret_post"),
            "created": TIME,
            "last_modified": TIME,
        }
    ),
    "SsoConnectionSet": closed(
        {
            "issuer": {**STRING, "maxLength": 2048},
            "client_id": {**STRING, "maxLength": 255},
            "client_secret": {**STRING, "maxLength": 1000, "writeOnly": True},
        },
        required=("issuer", "client_id"),
    ),
    "ScimKeyStatus": closed(_KEY_STATUS),
    "ScimKeySecret": closed({**_KEY_STATUS, "secret": {**STRING, "pattern": "^scim-"}}),
    "ApiToken": closed(_TOKEN),
    "ApiTokenList": closed({"tokens": array_of("ApiToken")}),
    "ApiTokenCreate": closed({"name": {**STRING, "maxLength": 100}}, required=()),
    "ApiTokenSecret": closed({**_TOKEN, "secret": {**STRING, "pattern": "^sat-"}}),
    "Member": closed(_MEMBER),
    "MemberList": _offset_page("members", "Member"),
    "MemberDetail": closed(
        {
            **_MEMBER,
            "access": array_of("ProjectAccess"),
            "groups": {
                "type": "array",
                "items": closed(
                    {"id": STRING, "display_name": STRING, "kind": enum("role", "team", "custom")}
                ),
            },
            "assignments": array_of("Grant"),
        }
    ),
    "MemberPatch": closed({"org_role": _ORG_ROLE}),
    "ProjectAccess": closed(
        {
            "project_id": STRING,
            "project": STRING,
            "role": NULLABLE_STRING,
            "custom_roles": STRINGS,
            "permissions": STRINGS,
            "teams": {
                "type": "array",
                "items": closed({"team": STRING, "team_role": _TEAM_ROLE}),
            },
            "reasons": {"type": "array", "items": _REASON},
        }
    ),
    "Grant": closed(
        {
            "id": STRING,
            "project_id": STRING,
            "project": STRING,
            "role_id": NULLABLE_STRING,
            "role": NULLABLE_STRING,
            "team_id": NULLABLE_STRING,
            "team": NULLABLE_STRING,
            "team_role": NULLABLE_STRING,
            "description": STRING,
        }
    ),
    "GrantCreate": {
        **closed(
            {"project_id": STRING, "role_id": STRING, "team_id": STRING, "team_role": _TEAM_ROLE},
            required=("project_id",),
        ),
        "description": "Either `role_id`, or `team_id` with `team_role`.",
    },
    "Role": closed({"id": STRING, "name": STRING, "builtin": BOOLEAN, "permissions": STRINGS}),
    "RoleList": closed({"roles": array_of("Role")}),
    "RoleCreate": closed(
        {"name": {**STRING, "maxLength": 100}, "permissions": STRINGS}, required=("name",)
    ),
    "AccessChecks": closed(
        {
            "checks": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {
                    **closed(
                        {
                            "member": {**STRING, "description": "member id or userName"},
                            "project": {**STRING, "description": "project id or name"},
                            "role": {**STRING, "description": "this role or a stronger one"},
                            "permission": STRING,
                        },
                        required=("member", "project"),
                    ),
                    "description": "Either `role` or `permission`.",
                },
            }
        }
    ),
    "AccessResults": closed(
        {
            "results": {
                "type": "array",
                "items": closed(
                    {
                        "allowed": BOOLEAN,
                        "role": NULLABLE_STRING,
                        "permissions": STRINGS,
                        "reasons": STRINGS,
                    }
                ),
            }
        }
    ),
    "Team": closed({"id": STRING, "project_id": STRING, "name": STRING}),
    "TeamList": closed({"teams": array_of("Team")}),
    "TeamCreate": closed({"project_id": STRING, "name": {**STRING, "maxLength": 100}}),
    "Project": closed(
        {
            "id": STRING,
            "name": STRING,
            "default_role_id": STRING,
            "default_role": NULLABLE_STRING,
            "teams": array_of("Team"),
        }
    ),
    "ProjectList": closed({"projects": array_of("Project")}),
    "ProjectCreate": closed(
        {
            "name": {**STRING, "maxLength": 100},
            "default_role": {**STRING, "description": "a role name; default Member"},
        },
        required=("name",),
    ),
    "ProjectPatch": closed(
        {"name": {**STRING, "maxLength": 100}, "default_role": STRING}, required=()
    ),
    "Group": closed(_GROUP),
    "GroupList": _offset_page("groups", "Group"),
    "GroupDetail": closed(
        {
            **_GROUP,
            "grants": array_of("Grant"),
            "members": array_of("Member"),
            "members_page": closed({"total": INTEGER, "limit": INTEGER, "offset": INTEGER}),
        }
    ),
    "AuditEntry": closed(
        {
            "id": INTEGER,
            "at": TIME,
            "actor_kind": enum(*(kind.value for kind in ActorKind)),
            "actor_id": NULLABLE_STRING,
            "actor": STRING,
            "action": STRING,
            "resource_type": STRING,
            "resource_id": NULLABLE_STRING,
            "before": ANY_OBJECT,
            "after": ANY_OBJECT,
        }
    ),
    "AuditPage": cursor_page_of("AuditEntry"),
    "ProvisioningEntry": closed(
        {
            "id": INTEGER,
            "at": TIME,
            "method": STRING,
            "path": STRING,
            "status": INTEGER,
            "latency_ms": INTEGER,
            "user_agent": NULLABLE_STRING,
            "detail": NULLABLE_STRING,
            "request_body": {
                **NULLABLE_STRING,
                "description": "the JSON body, secrets redacted, cut at 8 KiB",
            },
            "dry_run": {
                **BOOLEAN,
                "description": "answered in dry-run mode: nothing it did was committed",
            },
            "changes": {
                "type": ["array", "null"],
                "items": {"type": "object"},
                "description": (
                    "for a dry-run write, the events it would have produced (type, "
                    "resource and data, as in the feed); null otherwise (a live write's "
                    "events are at /provisioning-log/{id}/events)"
                ),
            },
        }
    ),
    "ProvisioningPage": cursor_page_of("ProvisioningEntry"),
    # The change feed and webhooks (served by faces/events_api.py and webhooks_api.py).
    "Event": closed(
        {
            "id": STRING,
            "seq": {**INTEGER, "description": "per org, gap-free, increasing"},
            "type": {**STRING, "description": "dotted, e.g. member.created, access.changed"},
            "time": TIME,
            "org_id": STRING,
            "actor": closed({"kind": STRING, "id": NULLABLE_STRING, "label": STRING}),
            "resource": closed(
                {"type": STRING, "id": STRING, "version": {"type": ["integer", "null"]}}
            ),
            "data": {"description": "the resource's new state, or what changed (by type)"},
            "changed": {**STRINGS, "description": "for updates: the fields that changed"},
            "request_id": {**INTEGER, "description": "the provisioning-log entry of the request"},
        },
        required=("id", "seq", "type", "time", "org_id", "actor", "resource", "data"),
    ),
    "EventPage": closed(
        {
            "events": array_of("Event"),
            "next_after": {**INTEGER, "description": "pass as `after` to read on"},
        }
    ),
    "EventList": closed({"events": array_of("Event")}),
    "RequestEvents": closed({"request_id": INTEGER, "events": array_of("Event")}),
    "GrantChange": closed(
        {
            "action": enum("add", "remove"),
            "grant_id": {**STRING, "description": "the grant to remove"},
            "project_id": STRING,
            "role_id": NULLABLE_STRING,
            "team_id": NULLABLE_STRING,
            "team_role": {"type": ["string", "null"], "enum": ["Admin", "Member", None]},
        },
        required=(),
    ),
    "GrantPreview": closed(
        {
            "changes": {
                "type": "array",
                "items": {"type": "object"},
                "description": "each member whose effective access would change, before/after",
            }
        }
    ),
    "Webhook": closed(_WEBHOOK),
    "WebhookCreated": closed(
        {**_WEBHOOK, "secret": {**STRING, "description": "signing secret, shown only here"}}
    ),
    "WebhookList": closed({"webhooks": array_of("Webhook")}),
    "WebhookCreate": closed(
        {"url": STRING, "events": {**STRINGS, "description": 'event types, or ["*"] (default)'}},
        required=("url",),
    ),
    "WebhookUpdate": closed({"url": STRING, "events": STRINGS, "enabled": BOOLEAN}, required=()),
    "Delivery": closed(
        {
            "id": STRING,
            "endpoint_id": STRING,
            "event_id": STRING,
            "event_seq": INTEGER,
            "state": enum("pending", "succeeded", "failed"),
            "attempts": INTEGER,
            "next_attempt": NULLABLE_TIME,
            "created": TIME,
            "completed": NULLABLE_TIME,
            "log": {
                "type": "array",
                "items": closed(
                    {
                        "at": TIME,
                        "status": {"type": ["integer", "null"]},
                        "latency_ms": INTEGER,
                        "error": NULLABLE_STRING,
                        "response_excerpt": NULLABLE_STRING,
                    }
                ),
            },
        }
    ),
    "DeliveryList": closed({"deliveries": array_of("Delivery")}),
}
