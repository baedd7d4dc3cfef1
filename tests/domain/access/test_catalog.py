"""What access decisions keep of an org's structure: bounded, and never wrong."""

from __future__ import annotations

import pytest

from scimitar.domain.access import catalog, decisions
from scimitar.domain.access.decisions import AccessCheck
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, structure
from scimitar.domain.models import Org
from scimitar.storage.database import Database
from tests.domain.helpers import make_member, make_org


def _ada_in_web(db: Database) -> tuple[Org, str]:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        structure.create_project(tx, org, "Web")
        ada = make_member(tx, org, "ada@example.com")
        group = group_store.find_group(tx, org, "Scimitar-Web-Member")
        assert group is not None
        group_store.add_members(tx, org, group, [ada.id])
    return org, ada.id


def test_unknown_project_names_are_remembered_only_up_to_a_bound(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller asking for ever new project names cannot grow the process without bound;
    past the bound, answers stay right and real projects are still remembered."""
    monkeypatch.setattr(catalog, "KEPT_UNKNOWN", 5)
    org, ada = _ada_in_web(db)
    for batch in range(4):
        checks = [AccessCheck(ada, f"nope-{batch}-{i}", "Member") for i in range(3)]
        checks.append(AccessCheck(ada, "web", "Member"))
        with db.read() as conn:
            *unknown, known = decisions.check_access(Tx(conn, CLI_ACTOR), org, checks)
        assert [d.allowed for d in unknown] == [False] * 3
        assert unknown[0].reasons == (f"No project 'nope-{batch}-0' in this organization",)
        assert known.allowed
    with db.read() as conn:
        kept = catalog.catalog(Tx(conn, CLI_ACTOR), org)
    assert 0 < kept.unknown <= 5
    assert kept.by_name["web"] is not None


def test_a_write_transaction_keeps_nothing(db: Database) -> None:
    """What a write transaction reads of the structure may be its own change, which a
    rollback undoes (after which the same version number may name other structure): it is
    read afresh and never kept."""
    org, ada = _ada_in_web(db)
    check = AccessCheck(ada, "Search", "Member")
    with db.write(rollback=True) as conn:
        tx = Tx(conn, CLI_ACTOR)
        search = structure.create_project(tx, org, "Search")
        group = group_store.find_group(tx, org, "Scimitar-Search-Member")
        assert group is not None
        group_store.add_members(tx, org, group, [ada])
        [inside] = decisions.check_access(tx, org, [check])
        assert inside.allowed
    with db.write() as conn:  # the same version number again, other structure
        structure.create_project(Tx(conn, CLI_ACTOR), org, "Other")
    with db.read() as conn:
        [after] = decisions.check_access(Tx(conn, CLI_ACTOR), org, [check])
    assert after.reasons == ("No project 'Search' in this organization",)
    assert search.id
