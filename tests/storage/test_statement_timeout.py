"""The statement time limit (`SCIMITAR_STATEMENT_TIMEOUT_MS`): a runaway statement is cut
on both engines, with an error the faces answer 503, and its connection serves on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from scimitar.config import Settings
from scimitar.storage.database import DEFAULT_STATEMENT_TIMEOUT_MS, Database, unavailable
from scimitar.storage.statement_limits import TOO_SLOW, statement_timed_out

# Counts to a billion: minutes on either engine, unless something stops it.
RUNAWAY = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n"
)


def test_a_runaway_statement_is_cut_and_the_connection_serves_on(db_url: str) -> None:
    """A statement past the limit raises the time-limit error; the next one on the same
    (only) pooled connection runs."""
    db = Database(db_url, pool_size=1, statement_timeout_ms=200)
    try:
        began = time.monotonic()
        with pytest.raises(OperationalError) as caught, db.read() as conn:
            conn.execute(RUNAWAY).scalar_one()
        elapsed = time.monotonic() - began
        assert statement_timed_out(caught.value)
        assert unavailable(caught.value) == TOO_SLOW
        assert 0.15 < elapsed < 5, elapsed
        with db.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        with db.write() as conn:
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        db.dispose()


def test_a_statement_within_the_limit_is_untouched(db_url: str) -> None:
    """The limit counts per statement: many quick statements in one transaction pass."""
    db = Database(db_url, statement_timeout_ms=100)
    try:
        with db.read() as conn:
            for _ in range(30):
                time.sleep(0.01)
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()


def test_no_limit_by_default_in_storage(db_url: str) -> None:
    """`Database` without a limit never cuts (the CLI's long operations, tests)."""
    db = Database(db_url)
    try:
        with db.read() as conn:
            counted = text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 200000) SELECT count(*) FROM n"
            )
            assert conn.execute(counted).scalar_one() == 200000
    finally:
        db.dispose()


def test_migrations_run_without_the_limit(tmp_path: Path) -> None:
    """Creating the schema is never cut, however small the limit."""
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}", statement_timeout_ms=1)
    try:
        db.migrate()
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM orgs")).scalar_one() == 0
    finally:
        db.dispose()


def test_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """SCIMITAR_STATEMENT_TIMEOUT_MS sets the limit, 0 turns it off, a few seconds by default."""
    monkeypatch.delenv("SCIMITAR_STATEMENT_TIMEOUT_MS", raising=False)
    assert Settings.from_env().statement_timeout_ms == DEFAULT_STATEMENT_TIMEOUT_MS == 5000
    monkeypatch.setenv("SCIMITAR_STATEMENT_TIMEOUT_MS", "0")
    assert Settings.from_env().statement_timeout_ms == 0
    monkeypatch.setenv("SCIMITAR_STATEMENT_TIMEOUT_MS", "250")
    settings = Settings.from_env()
    assert settings.statement_timeout_ms == 250
    assert settings.to_env()["SCIMITAR_STATEMENT_TIMEOUT_MS"] == "250"
