"""The host platform's endpoints: tenants over HTTP with an operator token (`/orgs…`), and
setup links (`/setup-links`, for an org's own token or console session).

Each credential kind works where it belongs and is refused elsewhere with a message naming
the kind expected: an operator token acts on organizations from outside them, and is
refused inside one (org endpoints answer 403); an org's token or console session acts
inside its org, and is refused on the operator endpoints (403).
"""

from __future__ import annotations

import re
from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations, tenants
from scimitar.domain.errors import AuthError, InvalidError, NotFoundError
from scimitar.domain.identity import keys, operators, sessions, setup_portal
from scimitar.domain.identity.operators import OperatorToken
from scimitar.domain.models import Org
from scimitar.faces.web.auth import Credentials, Principal
from scimitar.faces.web.views import (
    cursor_page,
    iso,
    offset_page,
    setup_link_url,
    setup_link_view,
    token_view,
)
from scimitar.faces.web.wire import (
    ApiCall,
    Reply,
    bad_request,
    forbidden,
    string_field,
    string_list_field,
)

OPERATOR_EXPECTED = (
    "This endpoint manages organizations and needs an operator token "
    "('Authorization: Bearer sop-…', made with 'scimitar operator-token create'); "
    "{what} acts within one organization only"
)
SCIM_KEY_HERE = "a SCIM key is for /scim only, and"
MAX_PAGE = 200
MAX_NAME = 200
_TENANT_SETTINGS = ("name", "domains", "group_prefix", "email_changes", "custom_groups")
_TENANT_FIELDS = (*_TENANT_SETTINGS, "provisioning_mode")


def authenticate_operator(tx: Tx, credentials: Credentials) -> OperatorToken:
    """The operator token of a request, with `tx.actor` set to it; any other credential is
    refused (an unknown one 401, a valid one of another kind 403)."""
    bearer = credentials.bearer
    if bearer is None:
        if credentials.session is not None:
            sessions.find_session(tx, credentials.session)  # an ended session is a 401
            raise forbidden(OPERATOR_EXPECTED.format(what="a console session"))
        raise AuthError("Missing credentials: send 'Authorization: Bearer <operator token>'")
    if operators.is_operator_token(bearer):
        token = operators.authenticate(tx, bearer)
        tx.actor = token.actor
        return token
    if bearer.startswith(keys.API_TOKEN_PREFIX):
        keys.authenticate_api_token(tx, bearer)
        raise forbidden(OPERATOR_EXPECTED.format(what="an org's admin API token"))
    if bearer.startswith(keys.SCIM_KEY_PREFIX):
        keys.authenticate_scim_key(tx, bearer)
        raise forbidden(OPERATOR_EXPECTED.format(what=SCIM_KEY_HERE + " an org's SCIM key"))
    raise AuthError("Invalid operator token")


# Views


def tenant_view(org: Org) -> dict[str, Any]:
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "domains": list(org.allowed_domains),
        "group_prefix": org.group_prefix,
        "email_changes": org.email_changes,
        "custom_groups": org.custom_groups,
        "provisioning_mode": org.provisioning_mode,
        "created": iso(org.created),
        "last_modified": iso(org.last_modified),
    }


# Tenants (operator token)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLUG = re.compile(r"[a-z0-9-]{1,63}")


def _printable(body: dict[str, Any]) -> dict[str, Any]:
    """The body, once no string in it holds a control character (PostgreSQL refuses NUL,
    SQLite would keep it: both engines answer 422 alike)."""
    for name, value in body.items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and _CONTROL.search(text):
                raise InvalidError(f"Field {name!r} must not contain control characters")
    return body


def _query_text(call: ApiCall, name: str) -> str:
    text = call.text(name)
    if _CONTROL.search(text):
        raise bad_request(f"Query parameter {name!r} must not contain control characters")
    return text


def _tenant(tx: Tx, call: ApiCall) -> Org:
    slug = call.params["slug"]
    if not _SLUG.fullmatch(slug):  # not a slug at all: nothing to look up
        raise NotFoundError(f"No organization with slug {slug!r}")
    return organizations.get_org_by_slug(tx, slug)


def create_org(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    body = _printable(
        call.fields(("name", "slug", "domains", "owner_email", "owner_name", "group_prefix"))
    )
    name, owner_email = string_field(body, "name"), string_field(body, "owner_email")
    assert name is not None and owner_email is not None
    prefix = string_field(body, "group_prefix", required=False)
    owner_name = string_field(body, "owner_name", required=False)
    if owner_name is not None and len(owner_name) > MAX_NAME:
        raise InvalidError(f"owner_name must be at most {MAX_NAME} characters")
    # The CLI's `org create` runs this same function: built-in roles, role groups, Owner.
    org = organizations.create_org(
        tx,
        name=name,
        owner_email=owner_email,
        slug=string_field(body, "slug", required=False),
        domains=string_list_field(body, "domains") or (),
        group_prefix="Scimitar" if prefix is None else prefix,
        owner_name=owner_name,
    )
    operators.record(tx, "org.created", "org", org.id, org=org, detail=tenant_view(org))
    return 201, tenant_view(org)


def list_orgs(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    limit = call.integer("limit", 50, low=1, high=MAX_PAGE)
    offset = call.integer("offset", 0)
    found, total = tenants.list_orgs(tx, q=_query_text(call, "q"), limit=limit, offset=offset)
    return 200, offset_page("orgs", [tenant_view(o) for o in found], total, limit, offset)


def operator_audit(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    """The operator audit trail (what `scimitar operator-audit` prints), newest first."""
    limit = call.integer("limit", 50, low=1, high=MAX_PAGE)
    entries = operators.audit_trail(
        tx,
        limit=limit + 1,
        org_slug=call.text("org") or None,
        action=call.text("action"),
        before=call.optional_integer("before"),
    )
    return 200, cursor_page([operator_audit_view(e) for e in entries], limit)


def operator_audit_view(entry: operators.OperatorAuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor_kind": entry.actor_kind,
        "actor": entry.actor_label,
        "action": entry.action,
        "org_id": entry.org_id,
        "org_slug": entry.org_slug,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "detail": entry.detail,
    }


def get_tenant(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    return 200, tenant_view(_tenant(tx, call))


def update_tenant(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    body = _printable(call.fields(_TENANT_FIELDS))
    org = _tenant(tx, call)
    updated = organizations.update_settings(
        tx,
        org,
        name=string_field(body, "name", required=False),
        domains=string_list_field(body, "domains"),
        group_prefix=string_field(body, "group_prefix", required=False),
        email_changes=string_field(body, "email_changes", required=False),
        custom_groups=string_field(body, "custom_groups", required=False),
        provisioning_mode=string_field(body, "provisioning_mode", required=False),
    )
    if updated != org:
        detail = {"before": tenant_view(org), "after": tenant_view(updated)}
        operators.record(tx, "org.updated", "org", org.id, org=updated, detail=detail)
    return 200, tenant_view(updated)


def delete_tenant(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    tenants.delete_org(tx, _tenant(tx, call))
    return 204, None


def create_org_api_token(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    """An admin API token of the org for the host's backend; `created_by` names the
    operator token that made it."""
    body = _printable(call.fields(("name",)))
    name = string_field(body, "name", required=False)
    org = _tenant(tx, call)
    token, info = keys.create_api_token(tx, org, "api" if name is None else name)
    operators.record(tx, "api_token.created", "api_token", info.id, org=org, detail={"name": name})
    return 201, {**token_view(info), "token": token}


def _expires_in(call: ApiCall) -> int | None:
    body = call.fields(("expires_in",)) if call.body is not None else {}
    value = body.get("expires_in")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad_request("Field 'expires_in' must be an integer (seconds)")
    return value


def _new_link(call: ApiCall, tx: Tx, org: Org) -> dict[str, Any]:
    secret, link = setup_portal.create_link(tx, org, _expires_in(call))
    return {
        "id": link.id,
        "url": setup_link_url(call.public_url, secret),
        "expires_at": iso(link.expires),
    }


def create_org_setup_link(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    org = _tenant(tx, call)
    created = _new_link(call, tx, org)
    operators.record(tx, "setup_link.created", "setup_link", created["id"], org=org)
    return 201, created


def list_org_setup_links(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    links = setup_portal.list_links(tx, _tenant(tx, call))
    return 200, {"setup_links": [setup_link_view(link, tx) for link in links]}


def revoke_org_setup_link(call: ApiCall, tx: Tx, who: OperatorToken) -> Reply:
    org = _tenant(tx, call)
    link_id = call.params["link_id"]
    setup_portal.revoke_link(tx, org, link_id)
    operators.record(tx, "setup_link.revoked", "setup_link", link_id, org=org)
    return 204, None


# Setup links (the org's own token or console session)


def create_setup_link(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 201, _new_link(call, tx, who.org)


def list_setup_links(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    links = setup_portal.list_links(tx, who.org)
    return 200, {"setup_links": [setup_link_view(link, tx) for link in links]}


def revoke_setup_link(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    setup_portal.revoke_link(tx, who.org, call.params["link_id"])
    return 204, None
