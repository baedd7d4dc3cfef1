"""One corpus of hostile inputs (tests.edge.corpus), sent through the SCIM API and the
admin API: the same answer on SQLite and PostgreSQL, never a 5xx, and nothing changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scimitar.storage.database import Database
from tests.conftest import ENGINES, empty_postgresql
from tests.edge.corpus import Case, admin_cases, scim_cases
from tests.faces.admin.helpers import Site, make_site


@pytest.fixture(scope="module", params=ENGINES)
def hostile_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, dict[str, str]]]:
    """One site per engine for the whole corpus (each case checks what it changed)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("hostile") / "hostile.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
    db = Database(url)
    site = make_site(db)
    with site.client:
        user = site.scim("POST", "/Users", body={"userName": "victim@example.com"}).json()
        group = site.scim("POST", "/Groups", body={"displayName": "Victims"}).json()
        project = site.api.post("/projects", {"name": "Target"})
        yield site, {"user": user["id"], "group": group["id"], "project": project["id"]}
    db.dispose()
    if request.param != "sqlite":
        empty_postgresql(url)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    text = json.dumps(value)
    for name, found in ids.items():
        text = text.replace("{" + name + "}", found)
    return json.loads(text)


def _send(site: Site, prefix: str, case: Case, ids: dict[str, str], auth: dict[str, str]) -> Any:
    path = _fill(case.path, ids)
    content = None if case.body is None else json.dumps(_fill(case.body, ids)).encode()
    headers = {**auth, "Content-Type": "application/json"}
    return site.client.request(case.method, prefix + path, content=content, headers=headers)


def _check(case: Case, response: Any, scim: bool) -> None:
    assert response.status_code == case.status, (case.name, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        if scim:
            assert body["status"] == str(response.status_code) and body["detail"]
            if case.scim_type is not None:
                assert body.get("scimType") == case.scim_type, body
        else:
            assert body["error"]["code"] and body["error"]["detail"]


def _state(site: Site) -> Any:
    users = site.scim("GET", "/Users?count=1000").json()["totalResults"]
    groups = site.scim("GET", "/Groups?count=1000").json()["totalResults"]
    projects = site.client.get("/api/v1/projects", headers=site.api.headers).json()
    return users, groups, projects


@pytest.mark.parametrize("case", scim_cases(), ids=str)
def test_scim_corpus(hostile_site: tuple[Site, dict[str, str]], case: Case) -> None:
    """A hostile SCIM input gets its one status on both engines; a refused one changes nothing."""
    site, ids = hostile_site
    before = _state(site)
    response = _send(site, "/scim", case, ids, {"Authorization": f"Bearer {site.scim_key}"})
    _check(case, response, scim=True)
    if response.status_code >= 400:
        assert _state(site) == before
    # The connection and the database are usable right after.
    assert site.scim("GET", f"/Users/{ids['user']}").status_code == 200


@pytest.mark.parametrize("case", admin_cases(), ids=str)
def test_admin_corpus(hostile_site: tuple[Site, dict[str, str]], case: Case) -> None:
    """A hostile admin API input gets its one status on both engines."""
    site, ids = hostile_site
    before = _state(site)
    response = _send(site, "/api/v1", case, ids, {"Authorization": f"Bearer {site.token}"})
    _check(case, response, scim=False)
    if response.status_code >= 400:
        assert _state(site) == before
    assert (
        site.client.get(
            f"/api/v1/projects/{ids['project']}", headers={"Authorization": f"Bearer {site.token}"}
        ).status_code
        == 200
    )
