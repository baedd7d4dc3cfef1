"""`/org`, `/scim-key`, `/api-tokens`: the organization's settings and credentials."""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.identity import keys, sso
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.views import member_view, org_view, scim_key_view, token_view
from scimitar.faces.web.wire import (
    ApiCall,
    Reply,
    bool_field,
    forbidden,
    string_field,
    string_list_field,
)

SETTINGS_FIELDS = (
    "name",
    "allowed_domains",
    "group_prefix",
    "email_changes",
    "custom_groups",
    "provisioning_mode",
    "sso_required",
)


def get_org(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, {**org_view(who.org), "sso_required": sso.is_required(tx, who.org)}


def update_org(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(SETTINGS_FIELDS)
    required = bool_field(body, "sso_required")
    if required is not None and who.member is not None and not who.is_owner:
        raise forbidden("Only the Owner can change whether SSO is required")
    updated = organizations.update_settings(
        tx,
        who.org,
        name=string_field(body, "name", required=False),
        domains=string_list_field(body, "allowed_domains"),
        group_prefix=string_field(body, "group_prefix", required=False),
        email_changes=string_field(body, "email_changes", required=False),
        custom_groups=string_field(body, "custom_groups", required=False),
        provisioning_mode=string_field(body, "provisioning_mode", required=False),
    )
    if required is not None:
        sso.set_required(tx, who.org, required)
    return 200, {**org_view(updated), "sso_required": sso.is_required(tx, who.org)}


def transfer_ownership(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """Owner only: an API token acts as an admin, never as the Owner."""
    if not who.is_owner or who.member is None:
        raise forbidden("Only the Owner, signed in to the console, can transfer ownership")
    body = call.fields(("member_id",))
    member_id = string_field(body, "member_id")
    assert member_id is not None
    owner = people.get_member(tx, who.org, who.member.id, for_update=True)
    new_owner = people.get_member(tx, who.org, member_id, for_update=True)
    return 200, member_view(people.transfer_ownership(tx, who.org, owner, new_owner))


def scim_base_url(call: ApiCall) -> str:
    return call.public_url + "/scim"


def get_scim_key(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, scim_key_view(keys.scim_key_status(tx, who.org), scim_base_url(call))


def generate_scim_key(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """The key is in this answer and never again."""
    key = keys.generate_scim_key(tx, who.org)
    status = scim_key_view(keys.scim_key_status(tx, who.org), scim_base_url(call))
    return 201, {**status, "secret": key}


def regenerate_scim_key(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    key = keys.regenerate_scim_key(tx, who.org)
    status = scim_key_view(keys.scim_key_status(tx, who.org), scim_base_url(call))
    return 201, {**status, "secret": key}


def deactivate_scim_key(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    info = keys.deactivate_scim_key(tx, who.org)
    return 200, scim_key_view(info, scim_base_url(call))


def list_api_tokens(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, {"tokens": [token_view(t) for t in keys.list_api_tokens(tx, who.org)]}


def create_api_token(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("name",))
    name = string_field(body, "name", required=False)
    token, info = keys.create_api_token(tx, who.org, "api" if name is None else name)
    return 201, {**token_view(info), "secret": token}


def revoke_api_token(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    keys.revoke_api_token(tx, who.org, call.params["token_id"])
    return 204, None
