"""Console sign-in: password, lockout, cookies, login CSRF, sign-out, who may enter."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import SYSTEM_ACTOR, Tx, utc
from scimitar.domain.identity import credentials
from scimitar.domain.models import OrgRole
from scimitar.faces.admin.endpoint import PREFIX
from scimitar.faces.app import create_app
from scimitar.faces.console import signin
from scimitar.storage.tables import console_credentials, console_sessions
from tests.faces.admin.helpers import (
    PASSWORD,
    Site,
    add_member,
    csrf_of,
    sign_in,
    sign_in_form_token,
)
from tests.faces.cli.test_cli import run as run_cli
from tests.faces.scim.harness import PUBLIC_URL


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


def test_parallel_wrong_passwords_lock_the_account(site: Site) -> None:
    """Wrong passwords sent all at once each count: together they lock the account."""
    attempts = credentials.MAX_FAILURES * 2
    start = threading.Barrier(attempts)

    def wrong() -> None:
        start.wait()
        with site.db.write() as conn:
            credentials.sign_in(Tx(conn, SYSTEM_ACTOR), site.org, "owner@example.com", "nope!")

    threads = [threading.Thread(target=wrong) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    response = sign_in(site.client, "acme", "owner@example.com", PASSWORD)
    assert response.status_code == 401 and "Too many failed sign-ins" in response.text


def test_an_unknown_org_costs_a_password_check(site: Site) -> None:
    """An unknown org slug is answered after a (dummy) password check, as an unknown email
    is: the answer's timing does not reveal which org slugs exist."""

    def took(slug: str, email: str) -> float:
        times = []
        for _ in range(5):
            with site.db.write() as conn:
                started = time.perf_counter()
                result = signin.sign_in(Tx(conn, SYSTEM_ACTOR), slug, email, "wrong password!")
                times.append(time.perf_counter() - started)
            assert result.error == signin.BAD_CREDENTIALS
        return statistics.median(times)

    unknown_email = took("acme", "nobody@example.com")
    unknown_org = took("nowhere", "owner@example.com")
    assert unknown_org > unknown_email / 2, (unknown_org, unknown_email)


def test_setting_a_password_ends_the_members_sessions(site: Site) -> None:
    """After `scimitar admin set-password`, the member's session cookie opens nothing."""
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    assert site.client.get("/console/members").status_code == 200
    code, _, err = run_cli(
        site.db.url,
        "admin",
        "set-password",
        "--org",
        "acme",
        "--email",
        "owner@example.com",
        "--password",
        "another long password",
    )
    assert code == 0, err
    page = site.client.get("/console/members", follow_redirects=False)
    assert page.status_code == 303 and "reason=ended" in page.headers["location"]
    assert sign_in(site.client, "acme", "owner@example.com", PASSWORD).status_code == 401
    assert (
        sign_in(site.client, "acme", "owner@example.com", "another long password").status_code
        == 303
    )


def _last_seen(site: Site) -> datetime:
    with site.db.read() as conn:
        seen = conn.execute(select(console_sessions.c.last_seen)).scalar_one()
    return utc(seen)


def _idle_for(site: Site, idle: timedelta) -> None:
    with site.db.write() as conn:
        conn.execute(update(console_sessions).values(last_seen=datetime.now(UTC) - idle))


def test_a_session_unused_for_an_hour_ends(site: Site) -> None:
    """Pages and API calls keep a session alive (recorded at most once a minute); an hour
    without a request ends it, before its 12 hours are up."""
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    _idle_for(site, timedelta(minutes=5))
    assert site.client.get("/console/members").status_code == 200
    assert datetime.now(UTC) - _last_seen(site) < timedelta(minutes=1)
    _idle_for(site, timedelta(minutes=50))
    assert site.client.get(PREFIX + "/org").status_code == 200  # the API, by cookie
    assert datetime.now(UTC) - _last_seen(site) < timedelta(minutes=1)
    _idle_for(site, timedelta(minutes=61))
    page = site.client.get("/console/members", follow_redirects=False)
    assert page.status_code == 303 and "reason=ended" in page.headers["location"]
    assert site.client.get(PREFIX + "/org").status_code == 401
