"""The console refuses what no database stores like every face, on both engines: a value
in a form is shown as the form's error (422, nothing changed), an id in the path is 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimitar.storage.database import Database
from tests.faces.admin.helpers import Site, make_site, sign_in
from tests.faces.console.forms import error_of, post


@pytest.fixture
def console(db: Database) -> Iterator[Site]:
    site = make_site(db)
    with site.client:
        assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
        yield site


@pytest.mark.parametrize("name", ["a\x00b", "\x00"])
def test_a_nul_in_a_form_is_the_forms_error(console: Site, name: str) -> None:
    """A project name with NUL → 422 with a reason on the page; no project made."""
    response = post(console, "/console/projects", name=name)
    assert response.status_code == 422
    assert error_of(response.text)
    assert console.api.get("/projects")["projects"] == []


def test_a_nul_in_a_settings_form_changes_nothing(console: Site) -> None:
    """An org name with NUL → 422, the name unchanged."""
    before = console.api.get("/org")["name"]
    response = post(console, "/console/settings", name="Acme\x00")
    assert response.status_code == 422
    assert console.api.get("/org")["name"] == before


def test_a_nul_in_a_search_is_refused_alike(console: Site) -> None:
    """/console/members?q=%00 → a 422 page naming the NUL (a lookup nothing can match)."""
    response = console.client.get("/console/members?q=%00")
    assert response.status_code == 422
    assert "NUL character" in response.text


def test_a_nul_id_in_a_console_path_is_not_found(console: Site) -> None:
    """/console/groups/%00 → 404 page, as with any id nothing has."""
    response = console.client.get("/console/groups/%00")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
