"""`/sso`: the org's OpenID Connect connection for console sign-in (the secret is write-only).

An API token may change it; in the console only the Owner may (an Admin could otherwise
point the console's sign-in at an IdP they control).
"""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.errors import NotFoundError
from scimitar.domain.identity import oidc, sso
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.views import sso_view
from scimitar.faces.web.wire import ApiCall, Reply, forbidden, string_field

OWNER_ONLY = "Only the Owner can change the organization's SSO connection"


def _owner_or_token(who: Principal) -> None:
    if who.member is not None and not who.is_owner:
        raise forbidden(OWNER_ONLY)


def get_sso(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    connection = sso.get_connection(tx, who.org)
    if connection is None:
        raise NotFoundError(sso.NO_CONNECTION.format(name=who.org.name))
    return 200, sso_view(connection, call.public_url)


def put_sso(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """Discovery runs first: an issuer that does not answer as an OpenID provider is refused."""
    _owner_or_token(who)
    body = call.fields(("issuer", "client_id", "client_secret"))
    issuer = string_field(body, "issuer")
    client_id = string_field(body, "client_id")
    secret = string_field(body, "client_secret", required=False)
    assert issuer is not None and client_id is not None
    assert call.sealer is not None  # the pipeline passes the deployment's
    provider = oidc.discover(issuer)
    connection = sso.set_connection(
        tx,
        who.org,
        provider,
        client_id=client_id,
        client_secret=secret,
        sealer=call.sealer,
    )
    return 200, sso_view(connection, call.public_url)


def delete_sso(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    _owner_or_token(who)
    sso.delete_connection(tx, who.org)
    return 204, None
