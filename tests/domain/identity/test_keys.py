"""SCIM keys and admin API tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.errors import AuthError, ConflictError, NotFoundError
from scimitar.domain.identity import keys
from scimitar.storage.database import Database
from scimitar.storage.tables import api_tokens, scim_keys
from tests.domain.helpers import make_org


def test_generated_key_is_stored_only_as_hash(tx: Tx) -> None:
    """A SCIM key starts `scim-`, is high-entropy, and only its SHA-256 is stored."""
    org = make_org(tx)
    key = keys.generate_scim_key(tx, org)
    assert key.startswith("scim-") and len(key) >= 40
    rows = tx.conn.execute(select(scim_keys)).all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    assert key not in stored and key[5:] not in stored
    assert rows[0].key_hash == keys.hash_secret(key)
    assert keys.authenticate_scim_key(tx, key)[0].id == org.id


def test_one_active_key_per_org(tx: Tx) -> None:
    """Generate refuses while a key is active; regenerate is the way to rotate."""
    org = make_org(tx)
    keys.generate_scim_key(tx, org)
    with pytest.raises(ConflictError, match="regenerate"):
        keys.generate_scim_key(tx, org)


def test_regenerate_invalidates_the_old_key(tx: Tx) -> None:
    """After regeneration the old key fails and the new one works."""
    org = make_org(tx)
    old = keys.generate_scim_key(tx, org)
    new = keys.regenerate_scim_key(tx, org)
    with pytest.raises(AuthError, match="deactivated"):
        keys.authenticate_scim_key(tx, old)
    assert keys.authenticate_scim_key(tx, new)[0].id == org.id


def test_deactivate_stops_the_key(tx: Tx) -> None:
    """A deactivated key is refused; the status shows who made it and when it stopped."""
    org = make_org(tx)
    key = keys.generate_scim_key(tx, org)
    info = keys.deactivate_scim_key(tx, org)
    assert not info.active and info.deactivated is not None and info.created_by == "cli"
    with pytest.raises(AuthError):
        keys.authenticate_scim_key(tx, key)
    with pytest.raises(NotFoundError):
        keys.deactivate_scim_key(tx, org)


@pytest.mark.parametrize("bad", ["", "scim-", "scim-nope", "Bearer scim-x", "x" * 500])
def test_unknown_keys_are_refused(tx: Tx, bad: str) -> None:
    """Anything but a live key is an AuthError."""
    make_org(tx)
    with pytest.raises(AuthError):
        keys.authenticate_scim_key(tx, bad)


def test_keys_of_two_orgs_are_separate(tx: Tx) -> None:
    """Each key selects its own org."""
    a, b = make_org(tx, "a"), make_org(tx, "b")
    key_a, key_b = keys.generate_scim_key(tx, a), keys.generate_scim_key(tx, b)
    assert keys.authenticate_scim_key(tx, key_a)[0].id == a.id
    assert keys.authenticate_scim_key(tx, key_b)[0].id == b.id


def test_api_tokens_are_distinct_from_scim_keys(tx: Tx) -> None:
    """Admin API tokens have their own prefix and table; a SCIM key is not a token."""
    org = make_org(tx)
    token, info = keys.create_api_token(tx, org, "automation")
    scim_key = keys.generate_scim_key(tx, org)
    assert token.startswith("sat-") and info.name == "automation"
    assert tx.conn.execute(select(api_tokens.c.token_hash)).scalar() == keys.hash_secret(token)
    assert keys.authenticate_api_token(tx, token)[0].id == org.id
    with pytest.raises(AuthError):
        keys.authenticate_api_token(tx, scim_key)
    with pytest.raises(AuthError):
        keys.authenticate_scim_key(tx, token)
    keys.revoke_api_token(tx, org, info.id)
    with pytest.raises(AuthError):
        keys.authenticate_api_token(tx, token)


def test_last_used_is_written_at_most_once_a_minute(tx: Tx) -> None:
    """A write refreshes `last_used` when it is older than a minute, and only then; the
    `KeyInfo` read at authentication spares the statement when it is fresh."""
    from datetime import timedelta

    org = make_org(tx)
    key = keys.generate_scim_key(tx, org)

    def stored() -> object:
        return tx.conn.execute(select(scim_keys.c.last_used)).scalar_one()

    _, info = keys.authenticate_scim_key(tx, key)
    assert info.last_used is None
    keys.touch_scim_key_if_stale(tx, info)
    first = stored()
    assert first is not None
    _, info = keys.authenticate_scim_key(tx, key)
    tx.now += timedelta(seconds=30)
    keys.touch_scim_key_if_stale(tx, info)  # fresh: nothing written
    keys.touch_scim_key_if_stale(tx, info.id)  # by id the database decides: still fresh
    assert stored() == first
    tx.now += timedelta(seconds=31)
    keys.touch_scim_key_if_stale(tx, info)
    assert stored() != first


def test_a_token_remembered_between_commits_is_refused_once_revoked(db: Database) -> None:
    """On SQLite a kept read connection remembers a checked token until anything is
    committed; the revocation is a commit, so the very next check refuses it."""
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        token, info = keys.create_api_token(tx, org, "doomed")
    for _ in range(2):  # the second check may be answered from memory
        with db.read(reuse=True) as conn:
            assert keys.authenticate_api_token(Tx(conn, CLI_ACTOR), token)[1].id == info.id
    with db.write() as conn:
        keys.revoke_api_token(Tx(conn, CLI_ACTOR), org, info.id)
    with db.read(reuse=True) as conn, pytest.raises(AuthError):
        keys.authenticate_api_token(Tx(conn, CLI_ACTOR), token)
