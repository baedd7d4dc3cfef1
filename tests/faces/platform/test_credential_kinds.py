"""Each credential kind works where it belongs and is refused, with a message naming the
kind expected, everywhere else (PRODUCT.md §6)."""

from __future__ import annotations

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import operators
from scimitar.faces.admin.endpoint import PREFIX
from scimitar.faces.admin.routes import ENDPOINTS, OPERATOR_ENDPOINTS
from tests.faces.admin.helpers import Api, csrf_of, sign_in
from tests.faces.platform.helpers import Platform


def _concrete(path: str) -> str:
    return PREFIX + path.replace("{slug}", "acme").replace("{", "").replace("}", "")


def test_operator_token_is_not_a_scim_key(platform: Platform) -> None:
    """/scim answers an operator token 401 with a SCIM error that says what it is."""
    response = platform.site.scim("GET", "/Users", key=platform.token)
    assert response.status_code == 401
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "operator token (sop-…) is not a SCIM key" in body["detail"]
    api_token = platform.site.scim("GET", "/Users", key=platform.site.token)
    assert api_token.status_code == 401
    assert "admin API token (sat-…) is not a SCIM key" in api_token.json()["detail"]


def test_operator_token_is_refused_by_every_org_endpoint(platform: Platform) -> None:
    """Every org-scoped admin endpoint (feed and webhooks included) answers an operator
    token 403, saying that an org API token or console session is expected."""
    headers = {"Authorization": f"Bearer {platform.token}"}
    for endpoint in ENDPOINTS:
        if endpoint.operator:
            continue
        response = platform.site.client.request(
            endpoint.method, _concrete(endpoint.path), json={}, headers=headers
        )
        assert response.status_code == 403, (endpoint.method, endpoint.path, response.text)
        assert "org API token (sat-…) or a console session" in response.json()["error"]["detail"]


def test_org_credentials_are_refused_by_every_operator_endpoint(platform: Platform) -> None:
    """Every operator endpoint answers an org API token, a SCIM key and a console session
    403, saying that an operator token is expected; no credential at all is 401."""
    site = platform.site
    sign_in(site.client, "acme", "owner@example.com")
    csrf = csrf_of(site.client)
    kinds = {
        "an org's admin API token": {"Authorization": f"Bearer {site.token}"},
        "an org's SCIM key": {"Authorization": f"Bearer {site.scim_key}"},
        "a console session": {"X-CSRF-Token": csrf},
    }
    for endpoint in OPERATOR_ENDPOINTS:
        for kind, headers in kinds.items():
            response = site.client.request(
                endpoint.method, _concrete(endpoint.path), json={}, headers=headers
            )
            assert response.status_code == 403, (endpoint.path, kind, response.text)
            detail = response.json()["error"]["detail"]
            assert "needs an operator token" in detail and kind in detail, detail
    site.client.cookies.clear()
    for endpoint in OPERATOR_ENDPOINTS:
        response = site.client.request(endpoint.method, _concrete(endpoint.path), json={})
        assert response.status_code == 401


def test_org_token_cannot_create_orgs(platform: Platform) -> None:
    """POST /orgs with an org token is 403 and creates nothing."""
    platform.site.api.post("/orgs", {"name": "Evil", "owner_email": "e@evil.example"}, expect=403)
    platform.operator.get("/orgs/evil", expect=404)


def test_unknown_and_revoked_operator_tokens_are_401(platform: Platform) -> None:
    """A made-up operator token is 401 everywhere; a revoked one stops at once."""
    fake = Api(platform.site.client, {"Authorization": "Bearer sop-made-up"})
    fake.get("/orgs", expect=401)
    fake.get("/org", expect=401)
    platform.operator.get("/orgs")
    with platform.site.db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        [token] = operators.list_tokens(tx)
        operators.revoke_token(tx, token.id)
    platform.operator.get("/orgs", expect=401)
    platform.operator.get("/org", expect=401)


def test_scim_key_on_the_admin_api_says_so(platform: Platform) -> None:
    """A SCIM key on an org endpoint is 401 with a message that it is for /scim only."""
    response = platform.site.client.get(
        PREFIX + "/org", headers={"Authorization": f"Bearer {platform.site.scim_key}"}
    )
    assert response.status_code == 401
    assert "SCIM key is for /scim only" in response.json()["error"]["detail"]
