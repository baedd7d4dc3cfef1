"""Webhook signing secrets sealed at rest; clear values sealed at start; resealing after a
key change; a configured key never stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.events import webhooks
from scimitar.domain.identity import sealed_secrets
from scimitar.domain.identity.sealed_secrets import deployment_sealer, webhook_context
from scimitar.domain.identity.sealing import Sealer, SealError, is_sealed
from scimitar.faces.cli import main
from scimitar.storage.database import Database
from scimitar.storage.tables import server_secrets, webhook_endpoints
from tests.domain.helpers import make_org

OLD_KEY = "old-deployment-key-" + "o" * 30
NEW_KEY = "new-deployment-key-" + "n" * 30


def _endpoints(db: Database, sealer: Sealer, count: int = 2, slug: str = "acme") -> dict[str, str]:
    """`count` endpoints of a new org; their ids and clear secrets."""
    made: dict[str, str] = {}
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx, slug=slug)
        for n in range(count):
            url = f"https://hooks.example.com/{n}"
            endpoint, secret = webhooks.create_endpoint(tx, org, url, sealer=sealer)
            made[endpoint.id] = secret
    return made


def _stored(db: Database) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(select(webhook_endpoints.c.id, webhook_endpoints.c.secret)).all()
    return {row.id: row.secret for row in rows}


def _stored_secrets(db: Database) -> list[tuple[str, str]]:
    with db.read() as conn:
        return [
            tuple(row)
            for row in conn.execute(select(server_secrets.c.name, server_secrets.c.value))
        ]


def test_a_webhook_secret_is_stored_sealed_to_its_row(db: Database) -> None:
    """The column holds a sealed value, not the secret; it opens only as that endpoint's."""
    sealer = Sealer(NEW_KEY)
    made = _endpoints(db, sealer)
    stored = _stored(db)
    first, second = made
    for endpoint_id, secret in made.items():
        assert is_sealed(stored[endpoint_id]) and secret not in stored[endpoint_id]
        assert sealer.unseal(stored[endpoint_id], context=webhook_context(endpoint_id)) == secret
    with pytest.raises(SealError):
        sealer.unseal(stored[first], context=webhook_context(second))


def test_clear_secrets_left_from_before_are_sealed_at_start_once(db: Database) -> None:
    """A row in clear (written before sealing) is sealed by the next start; the start after
    that changes nothing."""
    made = _endpoints(db, Sealer(NEW_KEY))
    endpoint_id, secret = next(iter(made.items()))
    with db.write() as conn:
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(secret=secret)
        )
    sealer = deployment_sealer(db, NEW_KEY)
    once = _stored(db)
    assert sealer.unseal(once[endpoint_id], context=webhook_context(endpoint_id)) == secret
    deployment_sealer(db, NEW_KEY)
    assert _stored(db) == once


def test_a_configured_key_is_never_written_to_the_database(db: Database) -> None:
    """With SCIMITAR_SECRET_KEY, the sealer, the cursors and the console use it and store
    no secret; without it, one generated key is stored and reused."""
    settings = Settings(database_url=db.url, secret_key=NEW_KEY).with_sealer(db)
    _endpoints(db, settings.sealer)
    assert _stored_secrets(db) == []
    generated = Settings(database_url=db.url).with_sealer(db).sealer
    [(name, value)] = _stored_secrets(db)
    assert name == sealed_secrets.GENERATED_KEY_NAME
    assert Settings(database_url=db.url).with_sealer(db).sealer.key_id == generated.key_id
    assert Sealer(value).key_id == generated.key_id


def test_reseal_moves_every_value_to_the_new_key_once(db: Database) -> None:
    """After a rotation every value is under the new key and opens to the same secret;
    resealing again changes nothing."""
    made = _endpoints(db, Sealer(OLD_KEY), count=3)
    rotating = Sealer(NEW_KEY, older=(OLD_KEY,))
    with db.write() as conn:
        assert sealed_secrets.reseal(Tx(conn, CLI_ACTOR), rotating) == 3
    stored = _stored(db)
    for endpoint_id, secret in made.items():
        assert not rotating.needs_reseal(stored[endpoint_id])
        opened = Sealer(NEW_KEY).unseal(stored[endpoint_id], context=webhook_context(endpoint_id))
        assert opened == secret
    with db.write() as conn:
        assert sealed_secrets.reseal(Tx(conn, CLI_ACTOR), rotating) == 0
    assert _stored(db) == stored


def test_reseal_refuses_a_value_no_key_opens_and_changes_nothing(db: Database) -> None:
    """A value under an unknown key stops the reseal with its row named; the transaction
    rolls back, so no value moved."""
    _endpoints(db, Sealer(OLD_KEY), count=2)
    strange = _endpoints(db, Sealer("some-other-key-" + "x" * 30), count=1, slug="globex")
    before = _stored(db)
    with pytest.raises(SealError, match=next(iter(strange))), db.write() as conn:
        sealed_secrets.reseal(Tx(conn, CLI_ACTOR), Sealer(NEW_KEY, older=(OLD_KEY,)))
    assert _stored(db) == before


def test_cli_reseal_from_a_previous_key_and_from_the_generated_key(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scimitar secrets reseal --previous-key-env VAR` moves values from the previous
    configured key; from a generated key it needs no option and deletes that key after."""
    generated = deployment_sealer(db, None)
    made = _endpoints(db, generated)
    monkeypatch.setenv("SCIMITAR_SECRET_KEY", OLD_KEY)
    main(["--database-url", db.url, "secrets", "reseal"])
    assert "Resealed 2 secret(s)" in capsys.readouterr().out
    assert _stored_secrets(db) == []  # the generated key is gone with nothing left under it
    monkeypatch.setenv("SCIMITAR_SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("SCIMITAR_PREVIOUS_SECRET_KEY", OLD_KEY)
    main(
        [
            "--database-url",
            db.url,
            "secrets",
            "reseal",
            "--previous-key-env",
            "SCIMITAR_PREVIOUS_SECRET_KEY",
        ]
    )
    assert "Resealed 2 secret(s)" in capsys.readouterr().out
    stored = _stored(db)
    for endpoint_id, secret in made.items():
        assert (
            Sealer(NEW_KEY).unseal(stored[endpoint_id], context=webhook_context(endpoint_id))
            == secret
        )
    main(["--database-url", db.url, "secrets", "reseal"])
    assert "Resealed 0 secret(s)" in capsys.readouterr().out
    exits: list[int] = []
    main(
        ["--database-url", db.url, "secrets", "reseal", "--previous-key-env", "NOT_SET_ANYWHERE"],
        exit=exits.append,
    )
    assert exits == [1]
