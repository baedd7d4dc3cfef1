"""Every operation the client calls, declared once: method name -> HTTP method and path
template (under `/api/v1`). The test suite compares this table with the server's OpenAPI
document, so an endpoint without a client method fails the build."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

API_PREFIX = "/api/v1"
#: How long past `wait` a long poll of the change feed may take before it times out.
POLL_MARGIN = 15.0


def api_url(base_url: str) -> str:
    """The API root of a Scimitar at `base_url` (its public URL, with or without /api/v1)."""
    base = base_url.rstrip("/")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


def query_params(values: Mapping[str, Any]) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            query[name] = ",".join(value)
        else:
            query[name] = str(value)
    return query


def json_body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields given (None means "not sent")."""
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str

    def url(self, **params: str) -> str:
        """The path with its `{name}` parameters filled in, each escaped as one segment."""
        return self.path.format(**{name: quote(value, safe="") for name, value in params.items()})

    @property
    def retryable(self) -> bool:
        """Safe to send again after a failure: reads and idempotent changes, never POST
        or PATCH."""
        return self.method in ("GET", "PUT", "DELETE")


OPERATIONS: dict[str, Operation] = {
    # Operator: tenants and their credentials (operator token).
    "create_org": Operation("POST", "/orgs"),
    "list_orgs": Operation("GET", "/orgs"),
    "get_tenant": Operation("GET", "/orgs/{slug}"),
    "update_tenant": Operation("PATCH", "/orgs/{slug}"),
    "delete_tenant": Operation("DELETE", "/orgs/{slug}"),
    "create_tenant_api_token": Operation("POST", "/orgs/{slug}/api-tokens"),
    "create_tenant_setup_link": Operation("POST", "/orgs/{slug}/setup-links"),
    "list_tenant_setup_links": Operation("GET", "/orgs/{slug}/setup-links"),
    "revoke_tenant_setup_link": Operation("DELETE", "/orgs/{slug}/setup-links/{link_id}"),
    "operator_audit": Operation("GET", "/operator-audit"),
    # The org's own settings and credentials (org token or console session).
    "get_org": Operation("GET", "/org"),
    "update_org": Operation("PATCH", "/org"),
    "transfer_ownership": Operation("POST", "/org/transfer-ownership"),
    "get_scim_key": Operation("GET", "/scim-key"),
    "generate_scim_key": Operation("POST", "/scim-key"),
    "regenerate_scim_key": Operation("POST", "/scim-key/regenerate"),
    "deactivate_scim_key": Operation("POST", "/scim-key/deactivate"),
    "list_api_tokens": Operation("GET", "/api-tokens"),
    "create_api_token": Operation("POST", "/api-tokens"),
    "revoke_api_token": Operation("DELETE", "/api-tokens/{token_id}"),
    "create_setup_link": Operation("POST", "/setup-links"),
    "list_setup_links": Operation("GET", "/setup-links"),
    "revoke_setup_link": Operation("DELETE", "/setup-links/{link_id}"),
    "get_rate_limits": Operation("GET", "/rate-limits"),
    "update_rate_limits": Operation("PATCH", "/rate-limits"),
    "get_sso": Operation("GET", "/sso"),
    "set_sso": Operation("PUT", "/sso"),
    "delete_sso": Operation("DELETE", "/sso"),
    # Members and their access.
    "list_members": Operation("GET", "/members"),
    "get_member": Operation("GET", "/members/{member_id}"),
    "update_member": Operation("PATCH", "/members/{member_id}"),
    "remove_member": Operation("DELETE", "/members/{member_id}"),
    "add_assignment": Operation("POST", "/members/{member_id}/assignments"),
    "remove_assignment": Operation("DELETE", "/members/{member_id}/assignments/{assignment_id}"),
    "member_events": Operation("GET", "/members/{member_id}/events"),
    "check_access": Operation("POST", "/access/check"),
    # Structure.
    "list_projects": Operation("GET", "/projects"),
    "create_project": Operation("POST", "/projects"),
    "get_project": Operation("GET", "/projects/{project_id}"),
    "update_project": Operation("PATCH", "/projects/{project_id}"),
    "delete_project": Operation("DELETE", "/projects/{project_id}"),
    "list_roles": Operation("GET", "/roles"),
    "create_role": Operation("POST", "/roles"),
    "delete_role": Operation("DELETE", "/roles/{role_id}"),
    "list_teams": Operation("GET", "/teams"),
    "create_team": Operation("POST", "/teams"),
    "delete_team": Operation("DELETE", "/teams/{team_id}"),
    # Groups and grants.
    "list_groups": Operation("GET", "/groups"),
    "get_group": Operation("GET", "/groups/{group_id}"),
    "add_grant": Operation("POST", "/groups/{group_id}/grants"),
    "remove_grant": Operation("DELETE", "/groups/{group_id}/grants/{grant_id}"),
    "preview_grant": Operation("POST", "/groups/{group_id}/grants/preview"),
    # Logs and the change feed.
    "audit_log": Operation("GET", "/audit-log"),
    "provisioning_log": Operation("GET", "/provisioning-log"),
    "request_events": Operation("GET", "/provisioning-log/{entry_id}/events"),
    "list_events": Operation("GET", "/events"),
    # Webhooks.
    "create_webhook": Operation("POST", "/webhooks"),
    "list_webhooks": Operation("GET", "/webhooks"),
    "get_webhook": Operation("GET", "/webhooks/{endpoint_id}"),
    "update_webhook": Operation("PATCH", "/webhooks/{endpoint_id}"),
    "delete_webhook": Operation("DELETE", "/webhooks/{endpoint_id}"),
    "list_deliveries": Operation("GET", "/webhooks/{endpoint_id}/deliveries"),
    "resend_delivery": Operation("POST", "/webhook-deliveries/{delivery_id}/resend"),
}
