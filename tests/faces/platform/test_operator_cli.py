"""`scimitar operator-token create|list|revoke` and `scimitar operator-audit`."""

from __future__ import annotations

from sqlalchemy import select

from scimitar.storage.database import Database
from scimitar.storage.tables import operator_tokens
from tests.faces.admin.helpers import Api, client_for
from tests.faces.cli.test_cli import run


def test_operator_token_lifecycle(db_url: str) -> None:
    """create prints the sop- token alone (only its hash is stored); list shows id, name,
    created and last use; revoke stops it at once; all of it is audited."""
    code, out, err = run(db_url, "operator-token", "create", "--name", "host backend")
    assert code == 0 and err == ""
    token = out.strip()
    assert token.startswith("sop-") and len(token) > 40 and "\n" not in token
    db = Database(db_url)
    try:
        with db.read() as conn:
            stored = conn.execute(select(operator_tokens.c.token_hash)).scalars().all()
        assert token not in stored and len(stored) == 1
        client = client_for(db)
        with client:
            Api(client, {"Authorization": f"Bearer {token}"}).get("/orgs")
            code, out, _ = run(db_url, "operator-token", "list")
            [line] = out.splitlines()
            token_id, name, hint, created, last_used, state = line.split("\t")
            assert (name, hint, state) == ("host backend", "sop-…" + token[-4:], "active")
            assert created.startswith("created ") and last_used != "last used never"
            assert token not in out
            assert run(db_url, "operator-token", "revoke", token_id)[0] == 0
            Api(client, {"Authorization": f"Bearer {token}"}).get("/orgs", expect=401)
        code, _, err = run(db_url, "operator-token", "revoke", token_id)
        assert code == 1 and "already revoked" in err
        code, _, err = run(db_url, "operator-token", "revoke", "nope")
        assert code == 1 and "No operator token" in err
        code, out, _ = run(db_url, "operator-audit")
        actions = [line.split("\t")[2] for line in out.splitlines()]
        assert actions == ["operator_token.revoked", "operator_token.created"]
    finally:
        db.dispose()


def test_bad_token_name_is_refused(db_url: str) -> None:
    """An empty name is one line on stderr, exit 1, and no token."""
    code, out, err = run(db_url, "operator-token", "create", "--name", " ")
    assert (code, out) == (1, "") and "1-100 characters" in err
    assert run(db_url, "operator-token", "list")[1] == ""
