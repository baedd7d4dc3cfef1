"""SSO in a real browser (headless Chromium via Playwright): "Sign in with SSO" on the sign-in
page, the real OpenID provider's own login page, and back into the console."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.identity import oidc, sso
from scimitar.domain.models import OrgRole
from scimitar.storage.database import Database
from tests.domain.events.helpers import sealer
from tests.faces.admin.helpers import add_member
from tests.faces.console.test_browser import SCREENSHOTS
from tests.faces.console.test_browser import browser as browser  # the fixture, by its name
from tests.faces.scim.harness import live_server
from tests.oidc.provider import CLIENT_ID, CLIENT_SECRET, IdP

pytestmark = pytest.mark.browser

ACCOUNTS = {
    "admin@example.com": {"email": "admin@example.com", "email_verified": True},
    "member@example.com": {"email": "member@example.com", "email_verified": True},
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A live server on SQLite with org acme (an Admin and a Member) connected to a real
    OpenID provider that knows both of them."""
    db = Database(f"sqlite:///{tmp_path / 'sso.db'}")
    db.migrate()
    with db.write() as conn:
        org = organizations.create_org(
            Tx(conn, CLI_ACTOR),
            name="Acme",
            slug="acme",
            domains=["example.com"],
            owner_email="owner@example.com",
        )
    add_member(db, org, "admin@example.com", role=OrgRole.ADMIN)
    add_member(db, org, "member@example.com")
    with live_server(db) as base, IdP([base + sso.CALLBACK_PATH], ACCOUNTS).start() as idp:
        provider = oidc.discover(idp.issuer)
        sealed_by = sealer(db)
        with db.write() as conn:
            sso.set_connection(
                Tx(conn, CLI_ACTOR),
                org,
                provider,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                sealer=sealed_by,
            )
        yield base
    db.dispose()


def _sign_in_with_sso(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/console/sign-in?org=acme")
    page.click("text=Sign in with SSO")
    page.wait_for_selector("input[name=login]")  # the provider's own login page
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def test_an_admin_signs_in_with_the_idp_in_a_browser(browser: Any, server: str) -> None:
    """Sign in with SSO → the IdP's login page → the console; a Member gets a refusal page."""
    base = server
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    _sign_in_with_sso(page, base, "admin@example.com")
    page.wait_for_url(f"{base}/console/scim")
    assert "admin@example.com · Admin" in page.inner_text("header")
    page.goto(f"{base}/console/sso")
    assert page.inner_text("#sso-status") == "Connected"
    assert page.input_value("#sso-redirect-uri") == base + sso.CALLBACK_PATH
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sso-settings-laptop.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in_with_sso(page, base, "member@example.com")
    page.wait_for_selector("#sso-refusal")
    assert "member@example.com is a Member of Acme" in page.inner_text("#sso-refusal")
    page.screenshot(path=str(SCREENSHOTS / "sso-refused-phone.png"), full_page=True)
    page.goto(f"{base}/console/members")
    assert page.url.startswith(f"{base}/console/sign-in")
    context.close()
