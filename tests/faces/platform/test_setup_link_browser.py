"""A setup link in a real browser (headless Chromium via Playwright), against a live server:
the host makes an org and a link over HTTP; the IT admin opens it, generates the SCIM key,
provisions with it; the link, opened again in another browser, says it was used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import operators
from scimitar.storage.database import Database
from tests.faces.console.test_browser import _shoot, browser
from tests.faces.scim.harness import live_server

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the Chromium fixture, shared with the console's browser tests


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[str, httpx.Client]]:
    """A live server on SQLite with no org yet, and the host's operator API client."""
    db = Database(f"sqlite:///{tmp_path / 'browser.db'}")
    db.migrate()
    with db.write() as conn:
        token, _ = operators.create_token(Tx(conn, CLI_ACTOR), "host")
    with live_server(db) as base:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base + "/api/v1", headers=headers) as client:
            yield base, client
    db.dispose()


def test_it_admin_sets_up_scim_from_a_link(browser: Any, host: tuple[str, httpx.Client]) -> None:
    """Open the link, continue, generate and copy the key, provision with it; the rest of
    the console stays closed; the link opened again shows that it was used."""
    base, operator = host
    made = operator.post("/orgs", json={"name": "Initech", "owner_email": "it@initech.example"})
    assert made.status_code == 201, made.text
    link = operator.post("/orgs/initech/setup-links").json()

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    page.goto(link["url"])
    assert "Set up SCIM for Initech" in page.inner_text("h1")
    _shoot(page, "setup-link-landing")
    page.click("text=Continue to SCIM setup")
    page.wait_for_url(f"{base}/console/setup")
    assert page.input_value("#scim-base-url") == f"{base}/scim"
    assert not page.is_visible("nav.tabs")
    page.click("text=Generate key")
    key = page.input_value("#scim-key")
    page.click("button[data-copy=scim-key]")
    assert page.evaluate("navigator.clipboard.readText()") == key
    _shoot(page, "setup-link-scim-setup")
    user = {"userName": "ada@initech.example", "emails": [{"value": "ada@initech.example"}]}
    created = httpx.post(
        f"{base}/scim/Users", json=user, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201, created.text
    page.goto(f"{base}/console/members")
    assert "/console/sign-in" in page.url
    assert "SCIM setup page only" in page.inner_text("main")
    context.close()

    other = browser.new_page()
    other.goto(link["url"])
    assert other.inner_text("#link-state") == "This link was already used"
    assert "Ask the person who sent you this link for a new one" in other.inner_text("main")
    _shoot(other, "setup-link-used")
    other.close()
