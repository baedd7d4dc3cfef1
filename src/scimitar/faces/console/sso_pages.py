"""Settings › Single sign-on: the org's OpenID Connect connection for console sign-in, the
redirect URI and the Okta and Entra ID app settings to copy, "Test sign-in", and the
`sso_required` policy. Everyone who may use the console sees it; only the Owner changes it."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.errors import PolicyError
from scimitar.domain.identity import oidc, sso
from scimitar.faces.console.page import Action, Outcome, Page, Redirect, View
from scimitar.faces.web.views import sso_view

OWNER_ONLY = "Only the Owner can change how the console's sign-in works"


def load_sso(view: View, tx: Tx) -> dict[str, Any]:
    connection = sso.get_connection(tx, view.session.org)
    return {
        "connection": None if connection is None else sso_view(connection, view.public_url),
        "redirect_uri": sso.redirect_uri(view.public_url),
        "public_url": view.public_url,
        "is_owner": view.principal.is_owner,
        "sso_required": sso.is_required(tx, view.session.org),
    }


SSO = Page("sso.html", load_sso, "settings")


def _owner(view: View) -> None:
    if not view.principal.is_owner:
        raise PolicyError(OWNER_ONLY)


def save_connection(view: View, tx: Tx) -> Outcome:
    _owner(view)
    issuer = view.field("issuer", required="Enter the issuer URL of your identity provider")
    client_id = view.field("client_id", required="Enter the client ID of the app")
    secret = view.field("client_secret")
    provider = oidc.discover(issuer)
    sso.set_connection(
        tx,
        view.session.org,
        provider,
        client_id=client_id,
        client_secret=secret or None,
        sealer=view.sealer,
    )
    return Redirect("/console/sso", "sso-saved")


def delete_connection(view: View, tx: Tx) -> Outcome:
    _owner(view)
    sso.delete_connection(tx, view.session.org)
    return Redirect("/console/sso", "sso-deleted")


def save_policy(view: View, tx: Tx) -> Outcome:
    _owner(view)
    required = view.field("sso_required") == "on"
    sso.set_required(tx, view.session.org, required)
    return Redirect("/console/sso", "sso-policy-saved")


PAGES = [("/console/sso", SSO)]
ACTIONS = [
    ("/console/sso", Action(save_connection, SSO)),
    ("/console/sso/delete", Action(delete_connection, SSO)),
    ("/console/sso/policy", Action(save_policy, SSO)),
]
