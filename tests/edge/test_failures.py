"""An unexpected database error (here: a table gone from under the server) is a 500 in the
face's own error body, and the keep-alive connection and the database pool keep serving."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from scimitar.storage.database import Database
from tests.faces.admin.helpers import PASSWORD, Site, make_site
from tests.faces.scim.harness import live_server
from tests.faces.scim.test_wire import ERROR


@contextmanager
def audit_log_gone(db: Database) -> Iterator[None]:
    """Every statement on `audit_log` fails in the database (the table is renamed away)."""
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))


@pytest.fixture
def served(db: Database) -> Iterator[tuple[Site, str]]:
    site = make_site(db)
    with live_server(db) as base:
        yield site, base


class Connection:
    """One HTTP/1.1 keep-alive connection; `same_socket` tells whether it was kept."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.http = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        self.socket: Any = None

    def send(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        content = None if body is None else json.dumps(body)
        sent = {**headers, "Content-Type": "application/json"} if body is not None else headers
        self.http.request(method, path, body=content, headers=sent)
        response = self.http.getresponse()
        response.body = response.read()
        assert not response.will_close, "the server closed the connection"
        if self.socket is None:
            self.socket = self.http.sock
        assert self.http.sock is self.socket, "the connection was not kept"
        return response


def test_scim_500_in_scim_body_and_the_connection_keeps_serving(
    db: Database, served: tuple[Site, str]
) -> None:
    """A failing statement under /scim → 500 SCIM error; then the same connection, 20 × 200."""
    site, base = served
    connection = Connection(base)
    auth = {"Authorization": f"Bearer {site.scim_key}"}
    with audit_log_gone(db):
        failed = connection.send("POST", "/scim/Users", auth, {"userName": "gone@example.com"})
        assert failed.status == 500
        assert failed.getheader("content-type").startswith("application/scim+json")
        body = json.loads(failed.body)
        assert body["schemas"] == [ERROR] and body["status"] == "500" and body["detail"]
    for _ in range(20):  # more than the pool's connections: none was left broken
        assert connection.send("GET", "/scim/Users?count=1", auth).status == 200
    created = connection.send("POST", "/scim/Users", auth, {"userName": "gone@example.com"})
    assert created.status == 201  # the failed create left nothing behind


def test_admin_500_in_the_admin_error_body(db: Database, served: tuple[Site, str]) -> None:
    """A failing statement under /api/v1 → 500 {"error": {"code", "detail"}}; connection kept."""
    site, base = served
    connection = Connection(base)
    auth = {"Authorization": f"Bearer {site.token}"}
    with audit_log_gone(db):
        failed = connection.send("GET", "/api/v1/audit-log", auth)
        assert failed.status == 500
        assert json.loads(failed.body) == {
            "error": {"code": "internal", "detail": "Internal server error"}
        }
    for _ in range(20):
        assert connection.send("GET", "/api/v1/projects", auth).status == 200


def test_console_500_is_a_page(db: Database, served: tuple[Site, str]) -> None:
    """A failing statement under /console → a plain 500 page; the next page renders."""
    site, base = served
    with httpx.Client(base_url=base) as browser:
        page = browser.get("/console/sign-in")
        token = page.text.split('name="form_token" value="')[1].split('"')[0]
        signed_in = browser.post(
            "/console/sign-in",
            data={
                "form_token": token,
                "org": "acme",
                "email": site.owner.user_name,
                "password": PASSWORD,
            },
        )
        assert signed_in.status_code in (200, 303)
        with audit_log_gone(db):
            failed = browser.get("/console/audit")
        assert failed.status_code == 500
        assert failed.headers["content-type"].startswith("text/html")
        assert "Internal server error" in failed.text
        assert browser.get("/console/audit").status_code == 200


def test_no_route_answers_in_the_face_body(served: tuple[Site, str]) -> None:
    """404 and 405 outside /scim use the admin API's error body, or a page in the console."""
    _site, base = served
    missing = httpx.get(f"{base}/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = httpx.put(f"{base}/api/v1/projects")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    page = httpx.get(f"{base}/console/nothing-here")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
