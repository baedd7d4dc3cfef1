"""Console sign-in with the org's own IdP (OpenID Connect), against a real OpenID provider
(npm's oidc-provider, started by the suite): the code flow, each refusal, the connection's
API, and the `sso_required` policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.domain.models import OrgRole
from scimitar.storage.tables import audit_log, server_secrets, sso_connections, sso_states
from tests.faces.admin.helpers import (
    PASSWORD,
    Api,
    Site,
    add_member,
    client_for,
    csrf_of,
    sign_in,
)
from tests.faces.scim.harness import PUBLIC_URL
from tests.oidc.provider import CLIENT_ID, CLIENT_SECRET, IdP, sign_in_at_idp, signing_key

CALLBACK = PUBLIC_URL + "/console/sso/callback"
ACCOUNTS = {
    "admin@example.com": {"email": "admin@example.com", "email_verified": True},
    "owner-upper": {"email": "OWNER@Example.COM", "email_verified": True},
    "member@example.com": {"email": "member@example.com", "email_verified": True},
    "gone@example.com": {"email": "gone@example.com", "email_verified": True},
    "stranger@example.com": {"email": "stranger@example.com", "email_verified": True},
    "unverified@example.com": {"email": "unverified@example.com", "email_verified": False},
    "no-email": {},
}


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with IdP([CALLBACK], ACCOUNTS).start() as running:
        yield running


@pytest.fixture
def org_site(site: Site, idp: IdP) -> Site:
    """acme with its IdP connected, an Admin, a Member, a deactivated Admin and an Admin
    whose email the IdP has not verified."""
    connect(site.api, idp)
    add_member(site.db, site.org, "admin@example.com", role=OrgRole.ADMIN, password=PASSWORD)
    add_member(site.db, site.org, "member@example.com")
    add_member(site.db, site.org, "unverified@example.com", role=OrgRole.ADMIN)
    gone = add_member(site.db, site.org, "gone@example.com", role=OrgRole.ADMIN)
    with site.db.write() as conn:
        people.set_active(Tx(conn, CLI_ACTOR), site.org, gone, False)
    return site


def connect(api: Api, idp: IdP) -> Any:
    body = {"issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return api.call("PUT", "/sso", body, expect=200)


def start(client: TestClient, query: str = "org=acme") -> str:
    response = client.get(f"/console/sso/start?{query}", follow_redirects=False)
    assert response.status_code == 303, response.text
    assert "scimitar_sso=" in response.headers["set-cookie"]
    return str(response.headers["location"])


def callback(client: TestClient, url: str) -> Any:
    return client.get(url.removeprefix(PUBLIC_URL), follow_redirects=False)


def sso_sign_in(client: TestClient, login: str) -> Any:
    return callback(client, sign_in_at_idp(start(client), login, CALLBACK))


def assert_refused(response: Any, reason: str) -> None:
    assert response.status_code == 403, response.text
    assert "Sign-in refused" in response.text and reason in response.text, response.text
    assert "scimitar_session" not in response.headers.get("set-cookie", "")


def test_an_admin_signs_in_through_the_idp(org_site: Site) -> None:
    """The code flow signs in the active Admin whose userName is the verified email."""
    location = start(org_site.client)
    assert "code_challenge_method=S256" in location and "nonce=" in location
    response = callback(org_site.client, sign_in_at_idp(location, "admin@example.com", CALLBACK))
    assert response.status_code == 303 and response.headers["location"] == "/console/scim"
    assert "scimitar_session=" in response.headers["set-cookie"]
    page = org_site.client.get("/console/members")
    assert page.status_code == 200 and "admin@example.com · Admin" in page.text
    with org_site.db.read() as conn:
        entry = conn.execute(
            select(audit_log).where(audit_log.c.action == "console.signed_in")
        ).one()
    assert entry.after == {"via": "SSO"} and entry.actor_label == "admin@example.com"


def test_the_email_matches_case_insensitively(org_site: Site) -> None:
    """OWNER@Example.COM at the IdP is the Owner owner@example.com here."""
    response = sso_sign_in(org_site.client, "owner-upper")
    assert response.status_code == 303 and response.headers["location"] == "/console/scim"


@pytest.mark.parametrize(
    ("login", "reason"),
    [
        ("member@example.com", "member@example.com is a Member of Acme"),
        ("gone@example.com", "gone@example.com is deactivated in Acme"),
        ("stranger@example.com", "stranger@example.com is not a member of Acme"),
        ("unverified@example.com", "says unverified@example.com is not verified"),
        ("no-email", "sent no email address"),
    ],
)
def test_only_active_owners_and_admins_get_in(org_site: Site, login: str, reason: str) -> None:
    """A Member, a deactivated Admin, a stranger, an unverified or missing email: refused."""
    assert_refused(sso_sign_in(org_site.client, login), reason)
    assert org_site.client.get("/console/members", follow_redirects=False).status_code == 303


def test_a_state_from_another_browser_is_refused(org_site: Site) -> None:
    """A callback in a browser that did not start the sign-in (login CSRF) signs nobody in."""
    back = sign_in_at_idp(start(org_site.client), "admin@example.com", CALLBACK)
    with client_for(org_site.db) as other:
        assert_refused(callback(other, back), "started in another browser")
        assert other.get("/console/members", follow_redirects=False).status_code == 303


def test_another_server_finishes_the_sign_in(org_site: Site) -> None:
    """A sign-in started by one server is finished by another on the same database (state in
    the database, as behind a load balancer with several processes or hosts)."""
    back = sign_in_at_idp(start(org_site.client), "admin@example.com", CALLBACK)
    with client_for(org_site.db) as second:
        second.cookies.set("scimitar_sso", str(org_site.client.cookies.get("scimitar_sso")))
        response = callback(second, back)
        assert response.status_code == 303 and response.headers["location"] == "/console/scim"
        assert second.get("/console/members").status_code == 200


def test_a_state_is_used_once(org_site: Site) -> None:
    """Replaying the IdP's answer (state and code) is refused, even in the same browser."""
    location = start(org_site.client)
    back = sign_in_at_idp(location, "admin@example.com", CALLBACK)
    browser = org_site.client.cookies.get("scimitar_sso")
    assert callback(org_site.client, back).status_code == 303
    org_site.client.cookies.clear()
    org_site.client.cookies.set("scimitar_sso", str(browser), path="/console/sso")
    assert_refused(callback(org_site.client, back), "already used")


def test_a_nonce_mismatch_is_refused(org_site: Site) -> None:
    """An ID token whose nonce is not this sign-in's is refused."""
    location = start(org_site.client)
    with org_site.db.write() as conn:
        conn.execute(update(sso_states).values(nonce="another-sign-in"))
    back = sign_in_at_idp(location, "admin@example.com", CALLBACK)
    assert_refused(callback(org_site.client, back), "nonce does not match")


def test_a_rotated_key_is_fetched_and_a_forged_one_refused(org_site: Site, idp: IdP) -> None:
    """After rotation the new kid's JWKS is fetched; a known kid with another key fails."""
    assert sso_sign_in(org_site.client, "admin@example.com").status_code == 303
    org_site.client.cookies.clear()
    forged = IdP([CALLBACK], ACCOUNTS, port=idp.port, keys=[signing_key("key-1")])
    with _replaced(idp, forged):
        assert_refused(sso_sign_in(org_site.client, "admin@example.com"), "signature")
    rotated = IdP([CALLBACK], ACCOUNTS, port=idp.port, keys=[signing_key("key-2")])
    with _replaced(idp, rotated):
        assert sso_sign_in(org_site.client, "admin@example.com").status_code == 303


class _replaced:
    """Stop the module's provider, run another on its port, then restart the original."""

    def __init__(self, running: IdP, replacement: IdP) -> None:
        self.running = running
        self.replacement = replacement

    def __enter__(self) -> None:
        self.running.stop()
        self.context = self.replacement.start()
        self.context.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.context.__exit__(None, None, None)
        self.running.restart()


def test_a_secret_sealed_under_another_key_is_a_clear_refusal(org_site: Site) -> None:
    """When the server's secret key changed, sign-in says so (no 500, nobody signed in)."""
    with org_site.db.write() as conn:
        conn.execute(
            update(server_secrets)
            .where(server_secrets.c.name == "sealing")
            .values(value="another-deployment-secret")
        )
    with client_for(org_site.db) as restarted:  # a process started under the new key
        refused = sso_sign_in(restarted, "admin@example.com")
        assert_refused(refused, "save the SSO connection")


def test_test_sign_in_shows_the_result_and_signs_nobody_in(org_site: Site) -> None:
    """ "Test sign-in" reports who would be signed in, or why not, without a session."""
    location = start(org_site.client, "org=acme&test=1")
    response = callback(org_site.client, sign_in_at_idp(location, "admin@example.com", CALLBACK))
    assert response.status_code == 200 and "It works" in response.text
    assert "scimitar_session" not in response.headers.get("set-cookie", "")
    location = start(org_site.client, "org=acme&test=1")
    response = callback(org_site.client, sign_in_at_idp(location, "member@example.com", CALLBACK))
    assert "Refused: member@example.com is a Member of Acme" in response.text


def test_the_sign_in_form_finds_the_org_by_slug_or_email_domain(org_site: Site) -> None:
    """ "Sign in with SSO" takes a slug or an email of an allowed domain (one org only)."""
    found = org_site.client.get("/console/sso/find?who=acme")
    assert found.status_code == 200 and 'url=/console/sso/start?org=acme"' in found.text
    missing = org_site.client.get("/console/sso/find?who=nobody@nowhere.example")
    assert missing.status_code == 404 and "No single organization" in missing.text
    unconnected = org_site.client.get("/console/sso/find?who=globex")
    assert "Globex has not connected an identity provider" in unconnected.text
    org_site.api.patch("/org", {"allowed_domains": ["example.com"]})
    by_domain = org_site.client.get("/console/sso/find?who=Someone@EXAMPLE.com")
    assert by_domain.status_code == 200 and "/console/sso/start?org=acme" in by_domain.text


def test_the_owner_sets_it_up_in_the_console(site: Site, idp: IdP) -> None:
    """Settings › Single sign-on: redirect URI to copy, connect, require, test, disconnect."""
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    page = site.client.get("/console/sso")
    assert f'value="{CALLBACK}"' in page.text and "Not connected" in page.text
    assert "Okta" in page.text and "Microsoft Entra ID" in page.text
    csrf = csrf_of(site.client, "/console/sso")
    form = {"csrf": csrf, "issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret": ""}
    refused = site.client.post("/console/sso", data=form)
    assert refused.status_code == 422 and "client secret is required" in refused.text
    saved = site.client.post("/console/sso", data={**form, "client_secret": CLIENT_SECRET})
    assert saved.status_code == 200 and "SSO connection saved" in saved.text
    assert "Connected" in saved.text and "/console/sso/start?org=acme&amp;test=1" in saved.text
    assert CLIENT_SECRET not in saved.text
    required = site.client.post("/console/sso/policy", data={"csrf": csrf, "sso_required": "on"})
    assert "SSO is <strong>required</strong>" in required.text
    kept = site.client.post("/console/sso/delete", data={"csrf": csrf})
    assert kept.status_code == 409 and "turn sso_required off" in kept.text
    site.client.post("/console/sso/policy", data={"csrf": csrf})
    gone = site.client.post("/console/sso/delete", data={"csrf": csrf})
    assert "SSO connection removed" in gone.text and "Not connected" in gone.text


def test_the_connection_api_seals_and_never_shows_the_secret(org_site: Site, idp: IdP) -> None:
    """PUT discovers the provider; GET omits the secret; the database holds it sealed."""
    shown = org_site.api.get("/sso")
    assert shown["issuer"] == idp.issuer and shown["client_id"] == CLIENT_ID
    assert shown["redirect_uri"] == CALLBACK and "client_secret" not in shown
    with org_site.db.read() as conn:
        stored = conn.execute(select(sso_connections.c.client_secret)).scalar_one()
    assert stored.startswith("sealed:v1:") and CLIENT_SECRET not in stored
    # Without a secret, the stored one stays (and sign-in still works with it).
    org_site.api.call("PUT", "/sso", {"issuer": idp.issuer, "client_id": CLIENT_ID}, expect=200)
    assert sso_sign_in(org_site.client, "admin@example.com").status_code == 303


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("http://idp.example.com", "must use https"),
        ("https://127.0.0.1:1", "Could not reach"),
        ("not a url", "must be an https URL"),
    ],
)
def test_a_bad_issuer_is_refused(site: Site, issuer: str, message: str) -> None:
    """Issuers are https (http only on loopback) and must answer discovery; nothing saved."""
    body = {"issuer": issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    error = site.api.call("PUT", "/sso", body, expect=422)
    assert message in error["error"]["detail"]
    site.api.get("/sso", expect=404)


def test_only_the_owner_changes_it_in_the_console(org_site: Site, idp: IdP) -> None:
    """An Admin's console session may read the connection but not change it."""
    with client_for(org_site.db) as admin:
        assert sign_in(admin, "acme", "admin@example.com").status_code == 303
        headers = {"X-CSRF-Token": csrf_of(admin)}
        assert Api(admin, headers).get("/sso")["client_id"] == CLIENT_ID
        body = {"issuer": idp.issuer, "client_id": "x", "client_secret": "y"}
        Api(admin, headers).call("PUT", "/sso", body, expect=403)
        Api(admin, headers).call("DELETE", "/sso", expect=403)
        Api(admin, headers).call("PATCH", "/org", {"sso_required": True}, expect=403)


def test_sso_required_refuses_admin_passwords_but_not_the_owners(org_site: Site) -> None:
    """With sso_required, an Admin's password is refused; the Owner's still works."""
    assert org_site.api.patch("/org", {"sso_required": True})["sso_required"] is True
    refused = sign_in(org_site.client, "acme", "admin@example.com")
    assert refused.status_code == 401 and "Admins of this organization sign in with SSO" in (
        refused.text
    )
    assert sign_in(org_site.client, "acme", "owner@example.com").status_code == 303
    page = org_site.client.get("/console/sign-in?org=acme")
    assert "the Owner may still use a password" in page.text
    org_site.api.delete("/sso", expect=409)
    assert org_site.api.patch("/org", {"sso_required": False})["sso_required"] is False
    assert sign_in(org_site.client, "acme", "admin@example.com").status_code == 303
    org_site.api.delete("/sso")
    org_site.api.get("/sso", expect=404)


def test_sso_required_needs_a_connection(site: Site) -> None:
    """Requiring SSO with no IdP connected is refused (it would lock Admins out)."""
    error = site.api.patch("/org", {"sso_required": True}, expect=409)
    assert "Connect your identity provider" in error["error"]["detail"]
    error = site.api.patch("/org", {"name": "Renamed", "sso_required": "yes"}, expect=400)
    assert "must be true or false" in error["error"]["detail"]
    org = site.api.get("/org")
    assert org["sso_required"] is False and org["name"] == "Acme"
