"""The command line as a new user and an operator meet it: every command and option
explained in `--help`, create commands that say what they made, a demo that prints what
works as pasted and never touches the key when it cannot serve, and `backup`."""

from __future__ import annotations

import argparse
import os
import queue
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations as org_rules
from scimitar.faces.cli import _parser
from scimitar.storage.database import Database
from scimitar.storage.tables import scim_keys
from tests.faces.cli.test_cli import run, setup_acme
from tests.processes import SCIMITAR, free_port, start_serve


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command and action below `parser`, by its full name ('org create')."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found[name] = child
                found.update({f"{name} {k}": v for k, v in _commands(child).items()})
    return found


def test_help_lists_every_command_with_a_description() -> None:
    """`scimitar --help` names every command, each with a one-line description."""
    parser = _parser()
    text = parser.format_help()
    commands = [name for name in _commands(parser) if " " not in name]
    for name in ("serve", "worker", "demo", "backup", "org", "scim-key", "project", "team"):
        assert name in commands
    for name in ("role", "admin", "api-token", "member"):
        assert name in commands
    for name in commands:
        assert re.search(rf"^ +{re.escape(name)} +\S", text, re.MULTILINE), name


def test_every_option_and_action_has_help() -> None:
    """Every option of every command, and every action of a command group, is explained."""
    missing = []
    for name, parser in _commands(_parser()).items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [
                    f"{name} {a.dest}" for a in action._choices_actions if not (a.help or "")
                ]
            elif action.help is None:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_create_commands_print_name_and_id(db_url: str) -> None:
    """project, team and role create print what they made, by name and id, alike."""
    setup_acme(db_url)
    outputs = [
        run(db_url, "project", "create", "--org", "acme", "--name", "Checkout")[1],
        run(db_url, "team", "create", "--org", "acme", "--project", "Checkout", "--name", "Web")[1],
        run(db_url, "role", "create", "--org", "acme", "--name", "Billing")[1],
    ]
    pattern = r"^created (project|team|role) '(Checkout|Web|Billing)'.* \(id [0-9a-f-]{36}\)\n$"
    for out, name in zip(outputs, ("Checkout", "Web", "Billing"), strict=True):
        assert re.match(pattern, out), out
        assert f"'{name}'" in out


def _active_key_hashes(db_url: str) -> list[str]:
    db = Database(db_url)
    with db.read() as conn:
        active = conn.execute(select(scim_keys.c.key_hash).where(scim_keys.c.active.is_(True)))
        hashes = list(active.scalars())
    db.dispose()
    return hashes


def test_demo_on_a_taken_port_fails_clearly_and_keeps_the_key(tmp_path: Path) -> None:
    """The demo binds its port before touching the key: a taken port is one clear line,
    exit 1, and the running demo's key still works."""
    url = f"sqlite:///{tmp_path}/demo.db"
    assert run(url, "demo", "--no-serve")[0] == 0
    before = _active_key_hashes(url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(url, "demo", "--port", str(port))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"127.0.0.1:{port}" in err and "--port" in err
    assert _active_key_hashes(url) == before


def test_demo_prints_a_curl_that_works_and_the_way_into_the_console(tmp_path: Path) -> None:
    """The demo's `curl` works as pasted (the real key), and the password command it prints
    gives the owner a console sign-in."""
    port = free_port()
    url = f"sqlite:///{tmp_path}/demo.db"
    demo = subprocess.Popen(
        [str(SCIMITAR), "--database-url", url, "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        assert demo.stdout is not None
        printed: queue.Queue[str] = queue.Queue()
        stdout = demo.stdout
        threading.Thread(target=lambda: [printed.put(x) for x in stdout], daemon=True).start()
        lines: dict[str, str] = {}
        while "Password" not in lines:  # the last line; a demo that never prints it fails
            label, _, value = printed.get(timeout=60).partition(":")
            lines[label.strip()] = value.strip()
        assert lines["Console"].startswith(f"http://127.0.0.1:{port}/console")
        curl = shlex.split(lines["Try"])
        assert curl[0] == "curl" and curl[1] == "-H"
        name, _, value = curl[2].partition(": ")
        for _ in range(100):
            try:
                answer = httpx.get(curl[3], headers={name: value}, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json()["totalResults"] == 1
        command = [*shlex.split(lines["Password"]), "--password", "correct horse battery"]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)


def test_backup_copies_a_sqlite_database_in_use(tmp_path: Path) -> None:
    """`scimitar backup` writes a consistent, self-contained copy that opens as Scimitar's
    database (the restore drill); it never overwrites a file."""
    url = f"sqlite:///{tmp_path}/live.db"
    setup_acme(url)
    holder = Database(url)  # another connection keeps the database (and its WAL) open
    with holder.read():
        code, _, err = run(url, "backup", str(tmp_path / "copy.db"))
    holder.dispose()
    assert code == 0, err
    assert sqlite3.connect(tmp_path / "copy.db").execute("PRAGMA journal_mode").fetchone() == (
        "delete",
    )
    restored = Database(f"sqlite:///{tmp_path}/copy.db")
    restored.migrate()
    with restored.read() as conn:
        assert org_rules.get_org_by_slug(Tx(conn, CLI_ACTOR), "acme").name == "Acme"
    restored.dispose()
    code, _, err = run(url, "backup", str(tmp_path / "copy.db"))
    assert code == 1 and "exists" in err


def test_backup_on_postgresql_points_to_pg_dump(db_url: str, tmp_path: Path) -> None:
    """On PostgreSQL `backup` refuses in one line, naming pg_dump; on SQLite it copies."""
    code, _, err = run(db_url, "backup", str(tmp_path / "copy.db"))
    if db_url.startswith("sqlite"):
        assert code == 0, err
    else:
        assert code == 1 and "pg_dump" in err and err.count("\n") == 1
        assert not (tmp_path / "copy.db").exists()


@pytest.mark.slow
def test_forwarded_headers_are_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    """By default `serve` ignores X-Forwarded-Proto even from 127.0.0.1; with
    `--forwarded-allow-ips 127.0.0.1` the proxy's scheme is used in absolute redirects."""
    url = f"sqlite:///{tmp_path}/proxy.db"
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for options, scheme in (((), "http"), (("--forwarded-allow-ips", "127.0.0.1"), "https")):
        server, base = start_serve(url, "--no-worker", *options)
        try:
            answer = httpx.get(f"{base}/api/v1/", headers=proxy, follow_redirects=False)
            assert answer.status_code in (307, 308)
            assert answer.headers["location"].startswith(f"{scheme}://"), options
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def test_readme_lists_every_command() -> None:
    """The README's CLI table has a row for every command and action `--help` lists."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    rows = re.findall(r"^\| `scimitar ([a-z-]+(?: [a-z-]+)?)", readme, re.MULTILINE)
    documented = set(rows)
    commands = _commands(_parser())
    leaves = [name for name in commands if not any(n.startswith(name + " ") for n in commands)]
    missing = [name for name in leaves if name not in documented]
    assert missing == []
