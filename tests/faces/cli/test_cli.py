"""The `scimitar` command, run in-process against real databases and once as a process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations as org_rules
from scimitar.domain.directory import people
from scimitar.domain.identity import keys
from scimitar.faces.cli import main
from scimitar.storage.database import Database
from scimitar.storage.tables import audit_log, groups, orgs, scim_keys


class Exited(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def run(db_url: str, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)

    def fail(code: int) -> None:
        raise Exited(code)

    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["--database-url", db_url, *argv], exit=fail)
        code = 0
    except Exited as exc:
        code = exc.code
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def setup_acme(db_url: str) -> None:
    code, out, _ = run(
        db_url,
        "org",
        "create",
        "--name",
        "Acme",
        "--slug",
        "acme",
        "--domain",
        "example.com",
        "--owner-email",
        "owner@example.com",
    )
    assert code == 0 and out.strip() == "acme"


def test_key_generate_prints_key_alone_and_stores_hash(db_url: str) -> None:
    """`scim-key generate` prints only the key; the database holds only its hash."""
    setup_acme(db_url)
    code, out, err = run(db_url, "scim-key", "generate", "--org", "acme")
    key = out.strip()
    assert code == 0 and out == key + "\n" and key.startswith("scim-") and err == ""
    db = Database(db_url)
    with db.read() as conn:
        row = conn.execute(select(scim_keys)).one()
    db.dispose()
    assert row.key_hash == keys.hash_secret(key) and key not in str(tuple(row))


def test_regenerate_invalidates_old_key(db_url: str) -> None:
    """After `regenerate` only the new key authenticates."""
    setup_acme(db_url)
    old = run(db_url, "scim-key", "generate", "--org", "acme")[1].strip()
    new = run(db_url, "scim-key", "regenerate", "--org", "acme")[1].strip()
    assert old != new
    db = Database(db_url)
    with db.read() as conn:
        active = (
            conn.execute(select(scim_keys.c.key_hash).where(scim_keys.c.active.is_(True)))
            .scalars()
            .all()
        )
    db.dispose()
    assert active == [keys.hash_secret(new)]
    code, out, _ = run(db_url, "scim-key", "deactivate", "--org", "acme")
    assert code == 0 and new[-4:] in out


def test_structure_commands(db_url: str) -> None:
    """project, team and role create make the expected groups."""
    setup_acme(db_url)
    assert run(db_url, "project", "create", "--org", "acme", "--name", "Checkout")[0] == 0
    assert (
        run(db_url, "team", "create", "--org", "acme", "--project", "checkout", "--name", "Web")[0]
        == 0
    )
    assert (
        run(
            db_url,
            "role",
            "create",
            "--org",
            "acme",
            "--name",
            "Billing",
            "--permission",
            "billing.read",
        )[0]
        == 0
    )
    db = Database(db_url)
    with db.read() as conn:
        names = set(conn.execute(select(groups.c.display_name)).scalars())
    db.dispose()
    assert {
        "Scimitar-Checkout-Billing",
        "Scimitar-Checkout-Web-Admin",
        "Scimitar-Checkout-Web-Member",
    } <= names


def test_member_list_remove_and_password(db_url: str) -> None:
    """member list shows the owner; set-password reads stdin; the owner cannot be removed."""
    setup_acme(db_url)
    code, out, _ = run(db_url, "member", "list", "--org", "acme")
    assert code == 0 and out.startswith("owner@example.com\tOwner\tactive")
    code, _, err = run(
        db_url,
        "admin",
        "set-password",
        "--org",
        "acme",
        "--email",
        "owner@example.com",
        stdin="correct horse battery staple\n",
    )
    assert code == 0 and "password set" in err
    code, _, err = run(db_url, "member", "remove", "--org", "acme", "--email", "owner@example.com")
    assert code == 1 and err == "scimitar: The Owner cannot be removed\n"
    token = run(db_url, "api-token", "create", "--org", "acme", "--name", "ci")[1].strip()
    assert token.startswith("sat-")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("scim-key", "generate", "--org", "nope"), "No organization with slug 'nope'"),
        (
            ("org", "create", "--name", "Acme", "--slug", "acme", "--owner-email", "x@example.com"),
            "already exists",
        ),
        (
            ("org", "create", "--name", "Other", "--owner-email", "not-an-email"),
            "not a valid email",
        ),
        (("project", "create", "--org", "acme", "--name", ""), "must not be empty"),
        (
            ("team", "create", "--org", "acme", "--project", "Nope", "--name", "T"),
            "No project named",
        ),
        (
            (
                "admin",
                "set-password",
                "--org",
                "acme",
                "--email",
                "owner@example.com",
                "--password",
                "short",
            ),
            "Password must be",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    db_url: str, argv: tuple[str, ...], message: str
) -> None:
    """Bad input prints one line on stderr, exits 1, and writes nothing."""
    setup_acme(db_url)
    db = Database(db_url)
    with db.read() as conn:
        before = conn.execute(select(audit_log.c.id)).scalars().all()
    code, out, err = run(db_url, *argv)
    with db.read() as conn:
        after = conn.execute(select(audit_log.c.id)).scalars().all()
        org_count = len(conn.execute(select(orgs.c.id)).all())
    db.dispose()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("scimitar: ") and message in err
    assert before == after and org_count == 1


def test_bad_database_url_is_one_line(tmp_path: object) -> None:
    """An unusable database URL is reported in one line, as a process would see it."""
    env = {**os.environ, "SCIMITAR_DATABASE_URL": "mysql://nobody@nowhere/db"}
    proc = subprocess.run(
        [sys.executable, "-m", "scimitar.faces.cli", "org", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert (
        proc.stderr
        == "scimitar: Unsupported database 'mysql': use sqlite:/// or postgresql+psycopg://\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scimitar.faces.cli",
            "--database-url",
            "postgresql://nobody@127.0.0.1:1/x",
            "org",
            "list",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("scimitar: database error:")
    assert proc.stderr.count("\n") == 1


def test_database_url_may_also_follow_the_command(db_url: str, tmp_path: object) -> None:
    """`--database-url` works before the command and after it (where PRODUCT.md's
    examples put the command's own flags); after it, it wins."""
    other = f"sqlite:///{tmp_path}/elsewhere.db"
    code, out, err = run(
        other,
        "org",
        "create",
        "--name",
        "Globex",
        "--owner-email",
        "o@globex.com",
        "--database-url",
        db_url,
    )
    assert code == 0 and out.strip() == "globex", err
    code, out, _ = run(db_url, "org", "list")
    assert code == 0 and out.startswith("globex\tGlobex")
    code, out, _ = run(other, "org", "list", "--database-url", db_url)
    assert code == 0 and "globex" in out
    code, out, _ = run(other, "org", "list")
    assert code == 0 and out == ""


def test_the_owner_may_be_named(db_url: str) -> None:
    """Okta's SPEC test reads the first user (the Owner) and expects both name parts."""
    code, _, err = run(
        db_url,
        "org",
        "create",
        "--name",
        "Named",
        "--owner-email",
        "olivia@named.com",
        "--owner-name",
        "  Olivia   de Owner ",
    )
    assert code == 0, err
    db = Database(db_url)
    with db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        owner = people.find_member(tx, org_rules.get_org_by_slug(tx, "named"), "olivia@named.com")
    db.dispose()
    assert owner is not None
    assert owner.attributes["name"] == {"givenName": "Olivia", "familyName": "de Owner"}
    assert owner.display_name == "Olivia de Owner"
