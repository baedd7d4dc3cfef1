"""Every admin API endpoint, declared once: the HTTP routes and the OpenAPI document are
both built from this table, so neither can list an endpoint the other lacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scimitar.domain.context import Tx
from scimitar.faces.admin import (
    access_api,
    groups_api,
    logs_api,
    members_api,
    org_api,
    structure_api,
)
from scimitar.faces.admin.auth import Principal
from scimitar.faces.admin.schemas import INTEGER, STRING, Schema, enum
from scimitar.faces.admin.wire import ApiCall, Reply

PREFIX = "/api/v1"

Handler = Callable[[ApiCall, Tx, Principal], Reply]


@dataclass(frozen=True)
class Param:
    """A query parameter."""

    name: str
    description: str
    schema: Schema


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    #: None for the feed and webhooks endpoints, served by their own faces (FEED_ENDPOINTS).
    handler: Handler | None
    summary: str
    tag: str
    #: Component name of the answer's body; None for 204 No Content.
    response: str | None
    status: int = 200
    request: str | None = None
    query: tuple[Param, ...] = ()
    owner_only: bool = False
    #: The OpenAPI operationId when there is no handler to name it.
    operation_id: str = ""
    #: A POST that changes nothing (access checks): run in a read transaction.
    reads_only: bool = False

    @property
    def name(self) -> str:
        return self.operation_id or (self.handler.__name__ if self.handler else "")

    @property
    def changes(self) -> bool:
        return self.method != "GET"


_LIMIT = Param("limit", "page size (1-200, default 50)", {**INTEGER, "minimum": 1, "maximum": 200})
_OFFSET = Param("offset", "items to skip (default 0)", {**INTEGER, "minimum": 0})
_BEFORE = Param("before", "cursor: only entries with a smaller id (the next_before)", INTEGER)
_PAGE = (_LIMIT, _OFFSET)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/org", org_api.get_org, "The organization's settings", "org", "Org"),
    Endpoint(
        "PATCH",
        "/org",
        org_api.update_org,
        "Change settings (name, allowed domains, group prefix, policies, provisioning mode)",
        "org",
        "Org",
        request="OrgSettings",
    ),
    Endpoint(
        "POST",
        "/org/transfer-ownership",
        org_api.transfer_ownership,
        "Make another active member the Owner (the Owner, signed in, only)",
        "org",
        "Member",
        request="OwnershipTransfer",
        owner_only=True,
    ),
    Endpoint(
        "GET",
        "/scim-key",
        org_api.get_scim_key,
        "SCIM base URL and key status",
        "scim-key",
        "ScimKeyStatus",
    ),
    Endpoint(
        "POST",
        "/scim-key",
        org_api.generate_scim_key,
        "Generate the SCIM key (refused while one is active); the secret is shown once",
        "scim-key",
        "ScimKeySecret",
        status=201,
    ),
    Endpoint(
        "POST",
        "/scim-key/regenerate",
        org_api.regenerate_scim_key,
        "Deactivate the current key and generate a new one; the secret is shown once",
        "scim-key",
        "ScimKeySecret",
        status=201,
    ),
    Endpoint(
        "POST",
        "/scim-key/deactivate",
        org_api.deactivate_scim_key,
        "Stop the SCIM key at once",
        "scim-key",
        "ScimKeyStatus",
    ),
    Endpoint(
        "GET",
        "/api-tokens",
        org_api.list_api_tokens,
        "Admin API tokens",
        "api-tokens",
        "ApiTokenList",
    ),
    Endpoint(
        "POST",
        "/api-tokens",
        org_api.create_api_token,
        "Create an admin API token; the secret is shown once",
        "api-tokens",
        "ApiTokenSecret",
        status=201,
        request="ApiTokenCreate",
    ),
    Endpoint(
        "DELETE",
        "/api-tokens/{token_id}",
        org_api.revoke_api_token,
        "Revoke a token (it stops working at once)",
        "api-tokens",
        None,
        status=204,
    ),
    Endpoint(
        "GET",
        "/members",
        members_api.list_members,
        "Members, oldest first, filtered by text, status and org role",
        "members",
        "MemberList",
        query=(
            Param("q", "text in userName, names or emails (case-insensitive)", STRING),
            Param("status", "active or deactivated", enum("active", "deactivated")),
            Param("role", "org role", enum("Owner", "Admin", "Member")),
            *_PAGE,
        ),
    ),
    Endpoint(
        "GET",
        "/members/{member_id}",
        members_api.get_member,
        "One member with effective access per project and the reason for each grant",
        "members",
        "MemberDetail",
    ),
    Endpoint(
        "PATCH",
        "/members/{member_id}",
        members_api.update_member,
        "Change the org role (Admin or Member; ownership moves by transfer)",
        "members",
        "MemberDetail",
        request="MemberPatch",
    ),
    Endpoint(
        "DELETE",
        "/members/{member_id}",
        members_api.remove_member,
        "Remove from the organization: SCIM GET answers 404, the IdP's next import unassigns",
        "members",
        None,
        status=204,
    ),
    Endpoint(
        "POST",
        "/members/{member_id}/assignments",
        members_api.add_assignment,
        "Give the member a project role or team role directly",
        "members",
        "Grant",
        status=201,
        request="GrantCreate",
    ),
    Endpoint(
        "DELETE",
        "/members/{member_id}/assignments/{assignment_id}",
        members_api.remove_assignment,
        "Remove a direct assignment",
        "members",
        None,
        status=204,
    ),
    Endpoint(
        "GET",
        "/projects",
        structure_api.list_projects,
        "Projects with their teams",
        "projects",
        "ProjectList",
    ),
    Endpoint(
        "POST",
        "/projects",
        structure_api.create_project,
        "Create a project (and its role groups)",
        "projects",
        "Project",
        status=201,
        request="ProjectCreate",
    ),
    Endpoint(
        "GET",
        "/projects/{project_id}",
        structure_api.get_project,
        "One project",
        "projects",
        "Project",
    ),
    Endpoint(
        "PATCH",
        "/projects/{project_id}",
        structure_api.update_project,
        "Rename a project (its groups follow) or change its default role",
        "projects",
        "Project",
        request="ProjectPatch",
    ),
    Endpoint(
        "DELETE",
        "/projects/{project_id}",
        structure_api.delete_project,
        "Delete a project with its teams, groups and grants",
        "projects",
        None,
        status=204,
    ),
    Endpoint(
        "GET",
        "/roles",
        structure_api.list_roles,
        "Built-in and custom roles",
        "roles",
        "RoleList",
    ),
    Endpoint(
        "POST",
        "/roles",
        structure_api.create_role,
        "Create a custom role with permissions (every project gains its role group)",
        "roles",
        "Role",
        status=201,
        request="RoleCreate",
    ),
    Endpoint(
        "DELETE",
        "/roles/{role_id}",
        structure_api.delete_role,
        "Delete a custom role that is no project's default",
        "roles",
        None,
        status=204,
    ),
    Endpoint(
        "POST",
        "/access/check",
        access_api.check_access,
        "Decide 1-1000 checks (member holds a role or a permission in a project), in order",
        "access",
        "AccessResults",
        request="AccessChecks",
        reads_only=True,
    ),
    Endpoint(
        "GET",
        "/teams",
        structure_api.list_teams,
        "Teams, of one project or all",
        "teams",
        "TeamList",
        query=(Param("project_id", "only this project's teams", STRING),),
    ),
    Endpoint(
        "POST",
        "/teams",
        structure_api.create_team,
        "Create a team (and its Admin and Member team groups)",
        "teams",
        "Team",
        status=201,
        request="TeamCreate",
    ),
    Endpoint(
        "DELETE",
        "/teams/{team_id}",
        structure_api.delete_team,
        "Delete a team and its team groups",
        "teams",
        None,
        status=204,
    ),
    Endpoint(
        "GET",
        "/groups",
        groups_api.list_groups,
        "Groups with their kind and member count",
        "groups",
        "GroupList",
        query=(
            Param("kind", "role, team or custom", enum("role", "team", "custom")),
            Param("q", "text in the group name (case-insensitive)", STRING),
            *_PAGE,
        ),
    ),
    Endpoint(
        "GET",
        "/groups/{group_id}",
        groups_api.get_group,
        "One group with its grants and a page of its members",
        "groups",
        "GroupDetail",
        query=_PAGE,
    ),
    Endpoint(
        "POST",
        "/groups/{group_id}/grants",
        groups_api.add_grant,
        "Attach a grant to a custom group (its members receive it)",
        "groups",
        "Grant",
        status=201,
        request="GrantCreate",
    ),
    Endpoint(
        "DELETE",
        "/groups/{group_id}/grants/{grant_id}",
        groups_api.remove_grant,
        "Remove a grant from a custom group",
        "groups",
        None,
        status=204,
    ),
    Endpoint(
        "GET",
        "/audit-log",
        logs_api.audit_log,
        "Every change by anyone, newest first",
        "logs",
        "AuditPage",
        query=(
            Param("action", "prefix of the action, e.g. 'member.' or 'scim_key.generated'", STRING),
            Param("actor_kind", "who acted", enum(*logs_api.ACTOR_KINDS)),
            Param("resource_type", "e.g. member, group, project", STRING),
            Param("resource_id", "one resource's history", STRING),
            _BEFORE,
            _LIMIT,
        ),
    ),
    Endpoint(
        "GET",
        "/provisioning-log",
        logs_api.provisioning_log,
        "The org's SCIM requests, newest first",
        "logs",
        "ProvisioningPage",
        query=(
            Param("method", "HTTP method", enum(*logs_api.METHODS)),
            Param("status", "status class", enum("2xx", "3xx", "4xx", "5xx")),
            Param("path", "text in the request path", STRING),
            _BEFORE,
            _LIMIT,
        ),
    ),
)


_AFTER = Param("after", "read events with a greater seq (the last seq seen; default 0)", INTEGER)
_WAIT = Param(
    "wait",
    "seconds (0-60) to long-poll when nothing is newer; answers as soon as something is",
    {"type": "number", "minimum": 0, "maximum": 60},
)
_TYPES = Param("types", "comma-separated event types to keep (default: all)", STRING)
_FEED_LIMIT = Param("limit", "events per page (1-1000, default 100)", INTEGER)

#: The change feed and webhooks: served by `faces/events_api.py` and `faces/webhooks_api.py`
#: (async: the feed long-polls), documented here with the rest of the admin API.
FEED_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/events",
        None,
        "The change feed, in order, from `after`",
        "events",
        "EventPage",
        query=(_AFTER, _FEED_LIMIT, _WAIT, _TYPES),
        operation_id="list_events",
    ),
    Endpoint(
        "GET",
        "/members/{member_id}/events",
        None,
        "One member's history, oldest first",
        "events",
        "EventList",
        operation_id="member_events",
    ),
    Endpoint(
        "GET",
        "/provisioning-log/{entry_id}/events",
        None,
        "The events a logged SCIM request produced",
        "events",
        "RequestEvents",
        operation_id="request_events",
    ),
    Endpoint(
        "POST",
        "/groups/{group_id}/grants/preview",
        None,
        "Whose effective access a grant change would change (nothing is changed)",
        "groups",
        "GrantPreview",
        request="GrantChange",
        operation_id="preview_grant",
    ),
    Endpoint(
        "POST",
        "/webhooks",
        None,
        "Subscribe an endpoint (its signing secret is in this answer only)",
        "webhooks",
        "WebhookCreated",
        201,
        "WebhookCreate",
        operation_id="create_webhook",
    ),
    Endpoint(
        "GET",
        "/webhooks",
        None,
        "Every webhook endpoint",
        "webhooks",
        "WebhookList",
        operation_id="list_webhooks",
    ),
    Endpoint(
        "GET",
        "/webhooks/{endpoint_id}",
        None,
        "One webhook endpoint",
        "webhooks",
        "Webhook",
        operation_id="get_webhook",
    ),
    Endpoint(
        "PATCH",
        "/webhooks/{endpoint_id}",
        None,
        "Change its URL, event types or enabled state",
        "webhooks",
        "Webhook",
        request="WebhookUpdate",
        operation_id="update_webhook",
    ),
    Endpoint(
        "DELETE",
        "/webhooks/{endpoint_id}",
        None,
        "Unsubscribe (its deliveries go too)",
        "webhooks",
        None,
        204,
        operation_id="delete_webhook",
    ),
    Endpoint(
        "GET",
        "/webhooks/{endpoint_id}/deliveries",
        None,
        "Its deliveries, newest first, each with its attempts",
        "webhooks",
        "DeliveryList",
        query=(
            Param("state", "only deliveries in this state", enum("pending", "succeeded", "failed")),
            Param("limit", "deliveries (1-500, default 50)", INTEGER),
        ),
        operation_id="list_deliveries",
    ),
    Endpoint(
        "POST",
        "/webhook-deliveries/{delivery_id}/resend",
        None,
        "Send a delivery again (pending, due now)",
        "webhooks",
        "Delivery",
        202,
        operation_id="resend_delivery",
    ),
)
