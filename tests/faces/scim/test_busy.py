"""A database held by another program for longer than the busy timeout: 503, not 500,
in SCIM and in every other face."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.storage import database
from tests.faces.scim.harness import make_org, start
from tests.faces.scim.test_wire import assert_error


def test_a_write_that_cannot_get_the_database_is_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "busy.db"
    client, db = start(f"sqlite:///{path}")
    with client:
        _, key = make_org(db)
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
        body = '{"userName": "a@example.com"}'
        other = sqlite3.connect(path, isolation_level=None)  # not Scimitar: no writer lock
        other.execute("BEGIN IMMEDIATE")
        try:
            busy = client.post("/scim/Users", content=body, headers=auth)
            detail = assert_error(busy, 503)["detail"]
            assert "retry" in str(detail)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert client.post("/scim/Users", content=body, headers=auth).status_code == 201
    db.dispose()


def test_the_admin_api_answers_503_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's error handler, not only the SCIM face, tells a busy database from a bug."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "busy.db"
    client, db = start(f"sqlite:///{path}")
    with client:
        org, _ = make_org(db)
        with db.write() as conn:
            token, _ = keys.create_api_token(Tx(conn, CLI_ACTOR), org, "busy")
        quiet = TestClient(client.app, raise_server_exceptions=False)
        auth = {"Authorization": f"Bearer {token}"}
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            busy = quiet.post("/api/v1/projects", json={"name": "Held"}, headers=auth)
            assert busy.status_code == 503 and "retry" in busy.json()["error"]["detail"]
            assert busy.json()["error"]["code"] == "unavailable"
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (
            quiet.post("/api/v1/projects", json={"name": "Held"}, headers=auth).status_code == 201
        )
    db.dispose()
