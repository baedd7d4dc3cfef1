"""Setup links: one-time, expiring URLs to an org's SCIM setup page for someone with no
account, in a session that can use that page only (PRODUCT.md §6)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.faces.app import create_app
from scimitar.faces.web.auth import SETUP_COOKIE
from scimitar.storage.tables import audit_log, setup_links
from tests.faces.admin.helpers import Api, client_for, csrf_of, sign_in
from tests.faces.platform.helpers import Platform
from tests.faces.scim.harness import PUBLIC_URL


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/console/setup-links/"), url
    return url.removeprefix(PUBLIC_URL)


def open_link(client: TestClient, url: str) -> TestClient:
    """Open a setup link in a browser as a person would: the page, then its button."""
    landing = client.get(_path(url))
    assert landing.status_code == 200, landing.text
    assert "Continue to SCIM setup" in landing.text
    token = re.search(r'name="form_token" value="([^"]+)"', landing.text)
    assert token
    opened = client.post(_path(url), data={"form_token": token.group(1)}, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == "/console/setup"
    return client


def _expires(link: dict[str, str]) -> datetime:
    return datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))


def test_create_link_by_operator_and_by_org(platform: Platform) -> None:
    """Operator (for any org) and org token (for its own) create links: 201 with id, url
    and expiry (default 7 days, or `expires_in` seconds); only a hash is stored."""
    before = datetime.now(UTC).replace(microsecond=0)  # answers are to the second
    by_operator = platform.operator.post("/orgs/acme/setup-links")
    assert timedelta(days=7) <= _expires(by_operator) - before <= timedelta(days=7, minutes=1)
    by_org = platform.site.api.post("/setup-links", {"expires_in": 3600})
    assert timedelta(minutes=59) <= _expires(by_org) - before <= timedelta(minutes=61)
    secret = _path(by_org["url"]).rsplit("/", 1)[1]
    with platform.site.db.read() as conn:
        stored = conn.execute(select(setup_links.c.secret_hash)).scalars().all()
    assert len(stored) == 2 and secret not in stored
    listed = platform.site.api.get("/setup-links")["setup_links"]
    assert [link["id"] for link in listed] == [by_org["id"], by_operator["id"]]
    assert listed[1]["created_by"].startswith("operator token 'host'")
    assert listed[0]["state"] == "active"
    assert platform.operator.get("/orgs/acme/setup-links")["setup_links"] == listed


def test_bad_link_input_changes_nothing(platform: Platform) -> None:
    """expires_in outside 5 minutes-30 days is 422, a non-integer or unknown field 400."""
    api = platform.site.api
    api.post("/setup-links", {"expires_in": 10}, expect=422)
    api.post("/setup-links", {"expires_in": 31 * 86400}, expect=422)
    api.post("/setup-links", {"expires_in": "3600"}, expect=400)
    api.post("/setup-links", {"expires_in": True}, expect=400)
    api.post("/setup-links", {"lifetime": 3600}, expect=400)
    platform.operator.post("/orgs/acme/setup-links", {"expires_in": 1}, expect=422)
    assert api.get("/setup-links")["setup_links"] == []


def test_link_opens_the_scim_setup_page_and_works_once(platform: Platform) -> None:
    """The link lands on the org's SCIM setup page; a key generated there works on /scim;
    opened again, from this or any browser, it says it was used; both are audited."""
    link = platform.operator.post("/orgs/globex/setup-links")
    browser = open_link(client_for(platform.site.db), link["url"])
    page = browser.get("/console/setup")
    assert page.status_code == 200
    assert PUBLIC_URL + "/scim" in page.text and "Okta" in page.text and "Entra" in page.text
    assert "Globex" in page.text and "Members" not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    made = browser.post("/console/setup/regenerate", data={"csrf": csrf.group(1)})
    assert made.status_code == 200
    key = re.search(r'id="scim-key" readonly value="(scim-[^"]+)"', made.text)
    assert key
    assert platform.site.scim("GET", "/Users", key=key.group(1)).status_code == 200
    # Post/Redirect/Get: the key is shown by a GET, so a reload rotates nothing.
    assert [r.status_code for r in made.history] == [303] and made.url.path == "/console/setup"
    reloaded = browser.get(str(made.url))
    assert key.group(1) not in reloaded.text
    assert platform.site.scim("GET", "/Users", key=key.group(1)).status_code == 200
    for again in (browser, client_for(platform.site.db)):
        used = again.get(_path(link["url"]))
        assert used.status_code == 410
        assert "already used" in used.text and "Ask the person who sent you" in used.text
    listed = platform.operator.get("/orgs/globex/setup-links")["setup_links"]
    assert listed[0]["state"] == "used" and listed[0]["used_at"] is not None
    with platform.site.db.read() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.actor_kind)
            .where(audit_log.c.org_id == platform.site.other.id)
            .order_by(audit_log.c.id)
        ).all()
    actions = [tuple(r) for r in rows]
    assert ("setup_link.created", "operator") in actions
    assert ("setup_link.used", "setup_link") in actions
    assert ("scim_key.regenerated", "setup_link") in actions


def test_a_link_spent_by_another_browser_is_used(platform: Platform) -> None:
    """Two browsers with the landing page open: the second click shows the used page."""
    link = platform.site.api.post("/setup-links")
    first, second = client_for(platform.site.db), client_for(platform.site.db)
    landing = second.get(_path(link["url"]))
    token = re.search(r'name="form_token" value="([^"]+)"', landing.text)
    assert token
    open_link(first, link["url"])
    late = second.post(_path(link["url"]), data={"form_token": token.group(1)})
    assert late.status_code == 410 and "already used" in late.text
    assert SETUP_COOKIE not in second.cookies


def test_expired_and_revoked_and_unknown_links(platform: Platform) -> None:
    """An expired link shows the expired page, a revoked one the revoked page, a made-up
    one the not-valid page; none of them opens a session."""
    api = platform.site.api
    expired = api.post("/setup-links", {"expires_in": 300})
    with platform.site.db.write() as conn:
        conn.execute(
            update(setup_links)
            .where(setup_links.c.id == expired["id"])
            .values(expires=datetime.now(UTC) - timedelta(seconds=1))
        )
    browser = client_for(platform.site.db)
    page = browser.get(_path(expired["url"]))
    assert page.status_code == 410 and "expired" in page.text
    assert "Ask the person who sent you" in page.text
    revoked = api.post("/setup-links")
    api.delete(f"/setup-links/{revoked['id']}")
    page = browser.get(_path(revoked["url"]))
    assert page.status_code == 410 and "revoked" in page.text
    page = browser.get("/console/setup-links/made-up")
    assert page.status_code == 404 and "not valid" in page.text
    assert browser.get("/console/setup").status_code == 401
    states = {link["id"]: link["state"] for link in api.get("/setup-links")["setup_links"]}
    assert states == {expired["id"]: "expired", revoked["id"]: "revoked"}


def test_landing_button_needs_its_form_token(platform: Platform) -> None:
    """A forged POST (no nonce cookie or token) is refused and does not spend the link."""
    link = platform.site.api.post("/setup-links")
    forged = client_for(platform.site.db).post(_path(link["url"]), data={"form_token": "x"})
    assert forged.status_code == 403
    open_link(client_for(platform.site.db), link["url"])


def test_setup_session_reaches_the_setup_page_only(platform: Platform) -> None:
    """A setup session is refused by every other console page and by the admin API, and
    ends when its link is revoked."""
    link = platform.site.api.post("/setup-links")
    browser = open_link(client_for(platform.site.db), link["url"])
    for page in ("/console/members", "/console/settings", "/console/scim", "/console/audit"):
        refused = browser.get(page, follow_redirects=False)
        assert refused.status_code == 303, page
        assert "reason=setup-only" in refused.headers["location"]
    sign_in_page = browser.get("/console/sign-in?reason=setup-only")
    assert "SCIM setup page only" in sign_in_page.text
    acted = browser.post("/console/scim/generate", data={"csrf": "x"}, follow_redirects=False)
    assert acted.status_code == 303
    response = browser.get("/api/v1/org")
    assert response.status_code == 403
    assert "setup link opens the SCIM setup page only" in response.json()["error"]["detail"]
    platform.site.api.delete(f"/setup-links/{link['id']}")
    ended = browser.get("/console/setup")
    assert ended.status_code == 401 and "ended" in ended.text


def test_setup_session_needs_its_csrf_token(platform: Platform) -> None:
    """A setup page form without the session's CSRF token changes nothing."""
    link = platform.site.api.post("/setup-links")
    browser = open_link(client_for(platform.site.db), link["url"])
    refused = browser.post("/console/setup/regenerate", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert platform.site.scim("GET", "/Users").status_code == 200  # the old key still works


def test_links_of_one_org_are_not_anothers(platform: Platform) -> None:
    """An org's token neither lists nor revokes another org's links."""
    theirs = platform.operator.post("/orgs/globex/setup-links")
    platform.site.api.delete(f"/setup-links/{theirs['id']}", expect=404)
    assert platform.site.api.get("/setup-links")["setup_links"] == []
    platform.operator.delete(f"/orgs/acme/setup-links/{theirs['id']}", expect=404)
    platform.operator.delete(f"/orgs/globex/setup-links/{theirs['id']}")


def test_settings_page_lists_links_and_tokens_with_their_makers(platform: Platform) -> None:
    """Settings lists setup links and API tokens, those the operator made included, with
    who made them; it creates and revokes links."""
    platform.operator.post("/orgs/acme/api-tokens", {"name": "host-backend"})
    platform.operator.post("/orgs/acme/setup-links")
    client = platform.site.client
    sign_in(client, "acme", "owner@example.com")
    page = client.get("/console/settings")
    assert "host-backend" in page.text
    assert page.text.count("operator token &#39;host&#39;") == 2
    csrf = csrf_of(client, "/console/settings")
    made = client.post("/console/setup-links", data={"csrf": csrf})
    url = re.search(r'id="setup-link" readonly value="([^"]+)"', made.text)
    assert url and url.group(1).startswith(PUBLIC_URL + "/console/setup-links/")
    # Post/Redirect/Get: the link is shown by a GET, so a reload makes no new link.
    assert [r.status_code for r in made.history] == [303]
    assert made.url.path == "/console/settings"
    reloaded = client.get(str(made.url))
    assert url.group(1) not in reloaded.text and 'id="setup-link-already-shown"' in reloaded.text
    session_api = Api(client, {"X-CSRF-Token": csrf})
    newest = session_api.get("/setup-links")["setup_links"][0]
    client.post(f"/console/setup-links/{newest['id']}/revoke", data={"csrf": csrf})
    assert session_api.get("/setup-links")["setup_links"][0]["state"] == "revoked"
    assert client.get(_path(url.group(1))).status_code == 410


def test_access_log_leaves_the_link_secret_out(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    """With SCIMITAR_ACCESS_LOG on, opening a setup link logs its path without the secret."""
    link = platform.site.api.post("/setup-links")
    secret = _path(link["url"]).rsplit("/", 1)[1]
    settings = Settings(database_url=platform.site.db.url, public_url=PUBLIC_URL, access_log=True)
    app = create_app(settings, db=platform.site.db)
    with (
        caplog.at_level(logging.INFO, logger="scimitar.access"),
        TestClient(app, base_url="https://testserver") as browser,
    ):
        open_link(browser, link["url"])
    lines = [r.getMessage() for r in caplog.records if r.name == "scimitar.access"]
    assert any("/console/setup-links/…" in line for line in lines), lines
    assert not any(secret in line for line in lines)
