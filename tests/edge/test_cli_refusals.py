"""The CLI refuses what no database stores in one line, like its other errors: an argument
that is not UTF-8 arrives as a lone surrogate (Python's surrogateescape)."""

from __future__ import annotations

from tests.faces.cli.test_cli import run, setup_acme


def test_a_lone_surrogate_argument_is_one_line(db_url: str) -> None:
    """`project create --org` with undecodable bytes → exit 1, one line, no project."""
    setup_acme(db_url)
    code, out, err = run(db_url, "project", "create", "--org", "acme\udcff", "--name", "P")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "lone surrogate" in err
    again = run(db_url, "project", "create", "--org", "acme", "--name", "P")
    assert again[0] == 0  # nothing of the refused one was made: the name is free
