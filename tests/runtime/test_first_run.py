"""What a new user meets first: `/` leads to the console, unknown URLs answer in each face's
format, `/api/v1` has an index, and a credential of the wrong kind says which one to use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scimitar.storage.database import Database
from tests.faces.admin.helpers import Site, make_site

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    made = make_site(db)
    with made.client:
        yield made


def test_root_leads_to_the_sign_in_page_when_signed_out(site: Site) -> None:
    """`/` redirects to the console, which sends a signed-out browser to sign-in."""
    site.client.cookies.clear()
    first = site.client.get("/", follow_redirects=False)
    assert first.status_code in (302, 303, 307) and first.headers["location"] == "/console"
    page = site.client.get("/")
    assert page.status_code == 200 and str(page.url).endswith("/console/sign-in")
    assert 'name="password"' in page.text and "session has ended" not in page.text


def test_unknown_console_url_is_a_styled_page(site: Site) -> None:
    """An unknown console URL answers 404 with the console's own page, not a bare text."""
    page = site.client.get("/console/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "/console/static/console.css" in page.text and "Page not found" in page.text
    assert 'href="/console/scim"' in page.text


def test_unknown_admin_api_path_is_a_json_error(site: Site) -> None:
    """Every unknown /api/v1 path answers the admin API's error shape (404 not_found)."""
    for path in ("/api/v1/nope", "/api/v1/members/a/b/c", "/api/v1/openapi.yaml"):
        answer = site.client.get(path, headers={"Authorization": f"Bearer {site.token}"})
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["code"] == "not_found"
        assert set(answer.json()["error"]) == {"code", "detail"}


def test_wrong_method_on_admin_api_is_a_json_405_with_allow(site: Site) -> None:
    """A method an /api/v1 path does not take answers 405 in JSON, with every allowed one."""
    answer = site.client.put("/api/v1/org", json={}, headers={"Authorization": "Bearer x"})
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert set(answer.headers["allow"].split(", ")) >= {"GET", "PATCH"}


def test_api_index_links_to_openapi_and_docs(site: Site) -> None:
    """`GET /api/v1` answers a short JSON index: the OpenAPI document and the docs."""
    answer = site.client.get("/api/v1")
    assert answer.status_code == 200
    index = answer.json()
    assert index["openapi"].endswith("/api/v1/openapi.json")
    assert index["docs"].startswith("https://")
    assert (
        site.client.get(index["openapi"].removeprefix("https://scim.example.test")).status_code
        == 200
    )


def test_scim_key_on_admin_api_says_it_is_a_scim_key(site: Site) -> None:
    """A SCIM key sent to the admin API is refused, saying the admin API takes an API token."""
    answer = site.client.get(
        "/api/v1/members", headers={"Authorization": f"Bearer {site.scim_key}"}
    )
    assert answer.status_code == 401
    detail = answer.json()["error"]["detail"]
    assert "SCIM key" in detail and "API token" in detail


def test_api_token_on_scim_says_it_is_an_api_token(site: Site) -> None:
    """An admin API token sent to SCIM is refused, saying SCIM takes the SCIM key."""
    answer = site.scim("GET", "/Users", key=site.token)
    assert answer.status_code == 401
    detail = answer.json()["detail"]
    assert "admin API token" in detail and "SCIM key" in detail


def test_gitignore_covers_the_sqlite_side_files() -> None:
    """The files SQLite and the writer lock leave beside the database are ignored."""
    patterns = (ROOT / ".gitignore").read_text().split()
    assert {"*.db", "*.db-wal", "*.db-shm", "*.db-writer"} <= set(patterns)
