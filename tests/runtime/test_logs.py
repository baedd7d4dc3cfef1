"""Server logs: text or one JSON object per line, never a secret."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.runtime.logs import JsonFormatter, SafeFormatter, log_config
from scimitar.storage.database import Database
from scimitar.storage.tables import members
from tests.domain.helpers import make_org
from tests.processes import SCIMITAR, start_serve


def test_a_json_record_carries_its_fields_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("scimitar").makeRecord(
            "scimitar",
            logging.ERROR,
            __file__,
            1,
            "failed %s",
            ("twice",),
            sys.exc_info(),
            extra={"path": "/scim/Users", "status": 500},
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed twice" and entry["level"] == "ERROR"
    assert entry["logger"] == "scimitar" and entry["time"].endswith("Z")
    assert entry["path"] == "/scim/Users" and entry["status"] == 500
    assert "ValueError: boom" in entry["exception"]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        log_config("xml")


def _requests_total(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "scimitar_http_requests_total" and sample.labels["face"] == "ops"
    )


def test_two_server_processes_log_json_and_count_together(db: Database) -> None:
    """`serve --workers 2` with JSON logs and the access log on: every line is JSON, each
    request has its line and no key appears; a scrape of either process counts both."""
    with db.write() as conn:
        key = keys.generate_scim_key(Tx(conn, CLI_ACTOR), make_org(Tx(conn, CLI_ACTOR)))
    env = {**os.environ, "SCIMITAR_LOG_FORMAT": "json", "SCIMITAR_ACCESS_LOG": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server, base = start_serve(db.url, "--workers", "2", env=env)
    try:
        before = _requests_total(httpx.get(f"{base}/metrics").text)
        for _ in range(30):  # a new connection each: the kernel spreads them over both
            assert httpx.get(f"{base}/healthz").status_code == 200
        counted = [_requests_total(httpx.get(f"{base}/metrics").text) for _ in range(6)]
        # Each scrape counts the requests before it (itself once answered), whichever
        # process answers it.
        assert counted[0] - before in (31, 32)
        assert counted == sorted(counted) and counted[-1] - counted[0] in (5, 6)
        headers = {"Authorization": f"Bearer {key}"}
        found = httpx.get(
            f'{base}/scim/Users?filter=userName eq "owner@example.com"', headers=headers
        )
        assert found.status_code == 200
        assert (
            httpx.get(f"{base}/scim/Users", headers={"Authorization": "Bearer scim-x"}).status_code
            == 401
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [e for e in entries if e["logger"] == "scimitar.access"]
    scim_lines = [e for e in access if e["path"] == "/scim/Users"]
    assert sorted(e["status"] for e in scim_lines) == [200, 401]
    assert all(e["face"] == "scim" and e["duration_ms"] >= 0 for e in scim_lines)
    assert sum(e["path"] == "/healthz" for e in access) >= 30
    assert any(e["logger"].startswith("uvicorn") for e in entries)
    assert key not in stderr.decode() and "owner@example.com" not in stderr.decode()


@pytest.mark.parametrize("command", ["serve", "worker", "demo"])
def test_a_long_running_command_refuses_an_unknown_log_format(tmp_path: Path, command: str) -> None:
    env = {**os.environ, "SCIMITAR_LOG_FORMAT": "xml"}
    done = subprocess.run(
        [str(SCIMITAR), "--database-url", f"sqlite:///{tmp_path}/x.db", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SCIMITAR_LOG_FORMAT" in done.stderr and "text, json" in done.stderr
    assert "SCIM key" not in done.stdout  # nothing was changed before the refusal


def test_a_database_error_is_logged_without_the_row_it_quotes(db: Database) -> None:
    """PostgreSQL's DETAIL quotes the duplicate key (an email address here); the server's
    log formats, text and JSON, keep the error's first line and its SQL only."""
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
    with pytest.raises(Exception) as caught, db.write() as conn:  # noqa: PT011
        # A second member with the same key, past the domain's own check.
        conn.execute(
            members.insert().values(
                id="00000000-0000-0000-0000-000000000001",
                org_id=org.id,
                user_name="Secret.Person@example.com",
                user_name_key="owner@acme.example.com",
                active=True,
                org_role="Member",
                source="scim",
                attributes={},
                version=1,
                created=datetime.now(UTC),
                last_modified=datetime.now(UTC),
            )
        )
    logger = logging.getLogger("scimitar.test")
    record = logger.makeRecord(
        "scimitar", logging.ERROR, __file__, 1, "boom", (), (caught.type, caught.value, caught.tb)
    )
    config = log_config("text")["formatters"]["main"]
    text = SafeFormatter(config["fmt"]).format(record)
    line = JsonFormatter().format(record)
    for output in (text, line):
        assert "owner@acme.example.com" not in output and "Secret.Person" not in output
        assert "INSERT INTO members" in output and "IntegrityError" in output
