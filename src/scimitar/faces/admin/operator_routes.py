"""The operator endpoints (PRODUCT.md §6, tenants over HTTP): operator token only. Part of
the one admin route table (`routes.ENDPOINTS`)."""

from __future__ import annotations

from scimitar.faces.admin import platform_api
from scimitar.faces.admin.endpoint import BEFORE, LIMIT, PAGE, Endpoint, Param, operator_endpoint
from scimitar.faces.admin.schemas import STRING

#: Tenants over HTTP (PRODUCT.md §6): operator token only.
OPERATOR_ENDPOINTS: tuple[Endpoint, ...] = (
    operator_endpoint(
        "POST",
        "/orgs",
        platform_api.create_org,
        "Create an organization with its built-in roles and Owner (as `scimitar org create`)",
        "Tenant",
        201,
        request="TenantCreate",
    ),
    operator_endpoint(
        "GET",
        "/orgs",
        platform_api.list_orgs,
        "Organizations by slug",
        "TenantList",
        query=(Param("q", "text in the slug or name (case-insensitive)", STRING), *PAGE),
    ),
    operator_endpoint("GET", "/orgs/{slug}", platform_api.get_tenant, "One organization", "Tenant"),
    operator_endpoint(
        "GET",
        "/operator-audit",
        platform_api.operator_audit,
        "What operators did to organizations, newest first (the operator audit trail)",
        "OperatorAuditPage",
        query=(
            Param("org", "one organization's entries, by the slug it had", STRING),
            Param("action", "prefix of the action, e.g. 'org.' or 'org.deleted'", STRING),
            BEFORE,
            LIMIT,
        ),
    ),
    operator_endpoint(
        "PATCH",
        "/orgs/{slug}",
        platform_api.update_tenant,
        "Change an organization's settings",
        "Tenant",
        request="TenantPatch",
    ),
    operator_endpoint(
        "DELETE",
        "/orgs/{slug}",
        platform_api.delete_tenant,
        "Delete an organization and everything in it (recorded in the operator audit trail)",
        None,
        204,
    ),
    operator_endpoint(
        "POST",
        "/orgs/{slug}/api-tokens",
        platform_api.create_org_api_token,
        "An admin API token of the org for the host's backend; shown once",
        "OrgApiTokenCreated",
        201,
        request="ApiTokenCreate",
    ),
    operator_endpoint(
        "POST",
        "/orgs/{slug}/setup-links",
        platform_api.create_org_setup_link,
        "A one-time link to the org's SCIM setup page, for its IT admin",
        "SetupLinkCreated",
        201,
        request="SetupLinkCreate",
        body_optional=True,
    ),
    operator_endpoint(
        "GET",
        "/orgs/{slug}/setup-links",
        platform_api.list_org_setup_links,
        "The org's setup links, newest first",
        "SetupLinkList",
    ),
    operator_endpoint(
        "DELETE",
        "/orgs/{slug}/setup-links/{link_id}",
        platform_api.revoke_org_setup_link,
        "Revoke one of the org's setup links",
        None,
        204,
    ),
)
