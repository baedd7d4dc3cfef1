"""A statement stopped at the time limit is a 503 in the admin API too, with its error body;
the next request succeeds. On PostgreSQL a statement waiting for a row lock counts against
`statement_timeout`, which makes the stop deterministic."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.faces.app import create_app
from scimitar.storage.database import Database
from tests.faces.scim.harness import PUBLIC_URL, make_org


def test_a_write_held_past_the_limit_is_503_with_the_api_body(db_url: str) -> None:
    """Another transaction holds the org's event counter; creating a project waits for it,
    is stopped at 300 ms, answers 503; once the lock is gone the same request succeeds."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite writers queue on a lock outside any statement")
    setup = Database(db_url)
    org, _ = make_org(setup)
    with setup.write() as conn:
        token, _ = keys.create_api_token(Tx(conn, CLI_ACTOR), org, "held")
    setup.dispose()
    db = Database(db_url, statement_timeout_ms=300)
    app = create_app(Settings(database_url=db_url, public_url=PUBLIC_URL), db=db)
    auth = {"Authorization": f"Bearer {token}"}
    url = make_url(db_url)
    holder = psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=False
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            holder.execute("SELECT 1 FROM event_counters WHERE org_id = %s FOR UPDATE", [org.id])
            cut = client.post("/api/v1/projects", json={"name": "Held"}, headers=auth)
            assert cut.status_code == 503, cut.text
            assert "statement time limit" in cut.json()["error"]["detail"]
            assert cut.json()["error"]["code"] == "unavailable"
            holder.rollback()
            made = client.post("/api/v1/projects", json={"name": "Held"}, headers=auth)
            assert made.status_code == 201, made.text
    finally:
        holder.close()
        db.dispose()
