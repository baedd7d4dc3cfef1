"""Console sign-in: password, lockout, cookies, login CSRF, sign-out, who may enter."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.models import OrgRole
from scimitar.faces.app import create_app
from scimitar.storage.tables import console_credentials
from tests.admin.helpers import PASSWORD, Site, add_member, csrf_of, sign_in, sign_in_form_token
from tests.scim.harness import PUBLIC_URL


def test_sign_in_sets_a_secure_session_cookie(site: Site) -> None:
    """The session cookie is HttpOnly, SameSite=Lax and Secure on an https public URL."""
    response = sign_in(site.client, "acme", "OWNER@example.com")
    assert response.status_code == 303 and response.headers["location"] == "/console/scim"
    cookie = response.headers["set-cookie"]
    assert "scimitar_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    page = site.client.get("/console/members")
    assert page.status_code == 200 and "owner@example.com" in page.text


def test_wrong_credentials_are_refused_alike(site: Site) -> None:
    """Wrong password, unknown email and unknown org get the same message and no session."""
    for slug, email, password in (
        ("acme", "owner@example.com", "wrong password!"),
        ("acme", "nobody@example.com", PASSWORD),
        ("nowhere", "owner@example.com", PASSWORD),
    ):
        response = sign_in(site.client, slug, email, password)
        assert response.status_code == 401
        assert "Wrong organization, email or password" in response.text
        assert "scimitar_session" not in response.headers.get("set-cookie", "")


def test_lockout_is_committed_and_holds(site: Site) -> None:
    """Five failures lock the account even for the right password; the count is stored."""
    for attempt in range(4):
        sign_in(site.client, "acme", "owner@example.com", "wrong password!")
        with site.db.read() as conn:
            failures = conn.execute(select(console_credentials.c.failed_attempts)).scalar()
        assert failures == attempt + 1
    sign_in(site.client, "acme", "owner@example.com", "wrong password!")
    response = sign_in(site.client, "acme", "owner@example.com", PASSWORD)
    assert response.status_code == 401 and "Too many failed sign-ins" in response.text


def test_sign_in_form_needs_its_token(site: Site) -> None:
    """A sign-in post without the form's token (login CSRF) is refused."""
    response = site.client.post(
        "/console/sign-in",
        data={
            "form_token": "forged",
            "org": "acme",
            "email": "owner@example.com",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "scimitar_session" not in response.headers.get("set-cookie", "")


def test_processes_share_the_generated_secret(site: Site) -> None:
    """Without SCIMITAR_SECRET_KEY, a form served by one process is accepted by another."""
    token = sign_in_form_token(site.client)
    second = create_app(Settings(database_url=site.db.url, public_url=PUBLIC_URL), db=site.db)
    with TestClient(second, base_url="https://testserver") as other:
        other.cookies.update(site.client.cookies)
        response = other.post(
            "/console/sign-in",
            data={
                "form_token": token,
                "org": "acme",
                "email": "owner@example.com",
                "password": PASSWORD,
            },
            follow_redirects=False,
        )
    assert response.status_code == 303


def test_member_cannot_use_the_console(site: Site) -> None:
    """A Member cannot sign in, and an admin demoted to Member is sent back to sign-in."""
    ada = add_member(site.db, site.org, "ada@example.com", role=OrgRole.ADMIN, password=PASSWORD)
    assert sign_in(site.client, "acme", "ada@example.com").status_code == 303
    site.api.patch(f"/members/{ada.id}", {"org_role": "Member"})
    page = site.client.get("/console/members", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/sign-in?reason=not-admin"
    response = sign_in(site.client, "acme", "ada@example.com")
    assert response.status_code == 401 and "Only active Owners and Admins" in response.text


def test_sign_out_ends_the_session_everywhere(site: Site) -> None:
    """After sign-out, the old cookie no longer opens any page."""
    sign_in(site.client, "acme", "owner@example.com")
    stolen = dict(site.client.cookies)
    csrf = csrf_of(site.client)
    response = site.client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    site.client.cookies.update(stolen)
    page = site.client.get("/console/scim", follow_redirects=False)
    assert page.headers["location"] == "/console/sign-in?reason=ended"


def test_pages_need_a_session(site: Site) -> None:
    """Without a session every page redirects to sign-in and every action changes nothing."""
    assert site.client.get("/console/members", follow_redirects=False).status_code == 303
    response = site.client.post("/console/projects", data={"name": "X"}, follow_redirects=False)
    assert response.status_code == 303
    assert site.api.get("/projects")["projects"] == []
