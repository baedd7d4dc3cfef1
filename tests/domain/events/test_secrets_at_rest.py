"""Acceptance: with SCIMITAR_SECRET_KEY in the environment, neither a webhook signing
secret nor the key itself is anywhere in the database: not in the SQLite file or its WAL
(bytes), not in any text column of any PostgreSQL table."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from scimitar import webhooks as signing
from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.events import deliveries
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.identity import keys
from scimitar.faces.app import create_app
from scimitar.runtime.worker import DeliveryWorker, WorkerSettings
from scimitar.storage.database import Database
from scimitar.storage.tables import server_secrets
from tests.domain.events.receiver import receiver
from tests.domain.events.test_webhooks import FAST, drain
from tests.domain.helpers import make_org

SECRET_KEY = "deployment-key-kept-in-the-environment-0123456789"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _all_delivered(db: Database) -> bool:
    with db.read() as conn:
        backlog = deliveries.backlog(Tx(conn, CLI_ACTOR))
    return backlog.unexamined == 0 and backlog.pending == 0


def _found_in_sqlite_files(db: Database, needles: list[str]) -> list[str]:
    path = Path(db.url.removeprefix("sqlite:///"))
    files = [path, Path(f"{path}-wal")]
    assert files[1].exists()  # the writes above are (at least partly) still in the WAL
    data = b"".join(file.read_bytes() for file in files)
    return [needle for needle in needles if needle.encode() in data]


def _found_in_postgresql(db: Database, needles: list[str]) -> list[str]:
    found = []
    with db.read() as conn:
        columns = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN "
                "('text', 'character varying', 'character', 'json', 'jsonb')"
            )
        ).all()
        assert len(columns) > 20
        for needle in needles:
            for table, column in columns:
                query = text(
                    f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE :pattern LIMIT 1'
                )
                if conn.execute(query, {"pattern": f"%{needle}%"}).first() is not None:
                    found.append(f"{needle} in {table}.{column}")
    return found


def test_no_webhook_secret_and_no_configured_key_in_the_database(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Webhooks created over the API, events delivered and verified, SCIM pages and the
    sign-in form used: the database holds neither the secrets nor SCIMITAR_SECRET_KEY."""
    monkeypatch.setenv("SCIMITAR_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("SCIMITAR_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")  # the receiver
    settings = Settings.from_env(database_url=db.url)
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        token, _ = keys.create_api_token(tx, org, "hooks")
        scim_key = keys.generate_scim_key(tx, org)
    app = create_app(settings, db=db)
    worker_settings = WorkerSettings(allowed_hosts=AllowList.parse("127.0.0.1"), retry=FAST)
    work = DeliveryWorker(db, worker_settings, sealer=app.state.settings.sealer)
    with receiver() as hook, TestClient(app, base_url="https://testserver") as client:
        api = {"Authorization": f"Bearer {token}"}
        secrets = []
        for n in range(3):
            made = client.post("/api/v1/webhooks", json={"url": f"{hook.url}/{n}"}, headers=api)
            assert made.status_code == 201, made.text
            secrets.append(made.json()["secret"])
        scim = {"Authorization": f"Bearer {scim_key}"}
        for n in range(5):
            user = {"schemas": [USER], "userName": f"user{n}@example.com"}
            assert client.post("/scim/Users", json=user, headers=scim).status_code == 201
        page = client.get("/scim/Users?count=2&cursor", headers=scim).json()
        assert client.get(
            f"/scim/Users?count=2&cursor={page['nextCursor']}", headers=scim
        ).is_success
        assert client.get("/console/sign-in").status_code == 200
        drain(work, lambda: _all_delivered(db))
        work.stop()
        assert len(hook.received) >= 3 * 5
        by_path = {f"/hooks/{n}": secret for n, secret in enumerate(secrets)}
        for got in hook.received:
            assert signing.verify(got.body, got.headers["Scimitar-Signature"], by_path[got.path])
        with db.read() as conn:  # cursors, form tokens and sealing all used the configured key
            assert conn.execute(select(server_secrets)).all() == []
        needles = [*secrets, SECRET_KEY]
        if db.is_sqlite:
            assert _found_in_sqlite_files(db, needles) == []
        else:
            assert _found_in_postgresql(db, needles) == []
