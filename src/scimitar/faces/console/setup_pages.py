"""SCIM setup (base URL, key, IdP steps) and org settings (policies, API tokens, ownership)."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.errors import InvalidError, PolicyError
from scimitar.domain.identity import keys, rate_limit_settings, setup_portal
from scimitar.faces.console import once
from scimitar.faces.console.page import Action, Outcome, Page, Redirect, View
from scimitar.faces.console.public_url import loopback_warning
from scimitar.faces.web.views import scim_key_view, setup_link_url, setup_link_view, token_view

SCIM_KEY_EXPLAINED = (
    "Copy it now: Scimitar keeps only a hash, so it cannot be shown again. "
    "Paste it into your identity provider as the Bearer token."
)


def load_scim(view: View, tx: Tx) -> dict[str, Any]:
    status = scim_key_view(keys.scim_key_status(tx, view.session.org), view.public_url + "/scim")
    new_key, already_shown = view.secret_shown(once.SCIM_KEY)
    return {
        "key": status,
        "new_key": new_key,
        "key_already_shown": already_shown,
        "key_explained": SCIM_KEY_EXPLAINED,
        "public_url": view.public_url,
        "public_url_warning": loopback_warning(view.public_url),
    }


SCIM = Page("scim.html", load_scim, "scim")


def _show_new_key(key: str) -> Outcome:
    # The key goes to the page in a sealed cookie: never stored, logged or put in a URL.
    return Redirect("/console/scim", reveal=(once.SCIM_KEY, key))


def generate_key(view: View, tx: Tx) -> Outcome:
    return _show_new_key(keys.generate_scim_key(tx, view.session.org))


def regenerate_key(view: View, tx: Tx) -> Outcome:
    return _show_new_key(keys.regenerate_scim_key(tx, view.session.org))


def deactivate_key(view: View, tx: Tx) -> Outcome:
    keys.deactivate_scim_key(tx, view.session.org)
    return Redirect("/console/scim", "key-deactivated")


def load_settings(view: View, tx: Tx) -> dict[str, Any]:
    tokens = [token_view(t) for t in keys.list_api_tokens(tx, view.session.org)]
    links = [setup_link_view(link, tx) for link in setup_portal.list_links(tx, view.session.org)]
    limits = rate_limit_settings.get_rate_limits(tx, view.session.org)
    new_token, already_shown = view.secret_shown(once.API_TOKEN)
    new_link, link_already_shown = view.secret_shown(once.SETUP_LINK)
    return {
        "tokens": tokens,
        "new_token": new_token,
        "token_already_shown": already_shown,
        "is_owner": view.principal.is_owner,
        "setup_links": links,
        "new_setup_link": new_link,
        "setup_link_already_shown": link_already_shown,
        "rate_limits": limits.to_json(),
    }


SETTINGS = Page("settings.html", load_settings, "settings")


def save_settings(view: View, tx: Tx) -> Outcome:
    domains = [d for d in view.field("allowed_domains").replace(",", " ").split() if d]
    organizations.update_settings(
        tx,
        view.session.org,
        name=view.field("name", required="Organization name must not be empty"),
        domains=domains,
        group_prefix=view.field("group_prefix", required="Group prefix must not be empty"),
        email_changes=view.field("email_changes"),
        custom_groups=view.field("custom_groups"),
        provisioning_mode=view.field("provisioning_mode"),
    )
    return Redirect("/console/settings", "settings-saved")


def _rate_field(view: View, name: str, label: str) -> int | None:
    """Empty: the deployment's default; else a whole number (0: no limit)."""
    raw = view.field(name).strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
        raise InvalidError(f"{label}: enter a whole number of requests per second, or nothing")
    return int(raw)


def save_rate_limits(view: View, tx: Tx) -> Outcome:
    rate_limit_settings.set_rate_limits(
        tx,
        view.session.org,
        scim_per_second=_rate_field(view, "scim_per_second", "SCIM requests per second"),
        api_per_second=_rate_field(view, "api_per_second", "API requests per second"),
    )
    return Redirect("/console/settings", "settings-saved")


def create_token(view: View, tx: Tx) -> Outcome:
    name = view.field("name", required="Give the token a name, e.g. the system that uses it")
    token, _ = keys.create_api_token(tx, view.session.org, name)
    return Redirect("/console/settings", reveal=(once.API_TOKEN, token))


def revoke_token(view: View, tx: Tx) -> Outcome:
    keys.revoke_api_token(tx, view.session.org, view.params["token_id"])
    return Redirect("/console/settings", "token-revoked")


def create_setup_link(view: View, tx: Tx) -> Outcome:
    secret, _ = setup_portal.create_link(tx, view.session.org)
    url = setup_link_url(view.public_url, secret)
    return Redirect("/console/settings", reveal=(once.SETUP_LINK, url))


def revoke_setup_link(view: View, tx: Tx) -> Outcome:
    setup_portal.revoke_link(tx, view.session.org, view.params["link_id"])
    return Redirect("/console/settings", "setup-link-revoked")


def transfer_ownership(view: View, tx: Tx) -> Outcome:
    if not view.principal.is_owner:
        raise PolicyError("Only the Owner can transfer ownership")
    email = view.field("email", required="Enter the email of the new Owner")
    org = view.session.org
    found = people.find_member(tx, org, email.strip())
    if found is None:
        raise InvalidError(f"No member {email.strip()!r} in this organization")
    # Both locked, in the admin API's order, so a concurrent change to either waits.
    owner = people.get_member(tx, org, view.session.member.id, for_update=True)
    new_owner = people.get_member(tx, org, found.id, for_update=True)
    people.transfer_ownership(tx, org, owner, new_owner)
    return Redirect("/console/settings", "ownership-transferred")


PAGES = [("/console/scim", SCIM), ("/console/settings", SETTINGS)]
ACTIONS = [
    ("/console/scim/generate", Action(generate_key, SCIM)),
    ("/console/scim/regenerate", Action(regenerate_key, SCIM)),
    ("/console/scim/deactivate", Action(deactivate_key, SCIM)),
    ("/console/settings", Action(save_settings, SETTINGS)),
    ("/console/rate-limits", Action(save_rate_limits, SETTINGS)),
    ("/console/api-tokens", Action(create_token, SETTINGS)),
    ("/console/api-tokens/{token_id}/revoke", Action(revoke_token, SETTINGS)),
    ("/console/ownership", Action(transfer_ownership, SETTINGS)),
    ("/console/setup-links", Action(create_setup_link, SETTINGS)),
    ("/console/setup-links/{link_id}/revoke", Action(revoke_setup_link, SETTINGS)),
]
