"""What access decisions keep of an org's structure: bounded, and never wrong."""

from __future__ import annotations

import pytest

from scimitar.domain.access import catalog, decisions
from scimitar.domain.access.decisions import AccessCheck
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, structure
from tests.domain.helpers import make_member, make_org


def test_unknown_project_names_are_remembered_only_up_to_a_bound(
    tx: Tx, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller asking for ever new project names cannot grow the process without bound;
    past the bound, answers stay right and real projects are still remembered."""
    monkeypatch.setattr(catalog, "KEPT_UNKNOWN", 5)
    org = make_org(tx)
    structure.create_project(tx, org, "Web")
    ada = make_member(tx, org, "ada@example.com")
    group = group_store.find_group(tx, org, "Scimitar-Web-Member")
    assert group is not None
    group_store.add_members(tx, org, group, [ada.id])
    for batch in range(4):
        checks = [AccessCheck(ada.id, f"nope-{batch}-{i}", "Member") for i in range(3)]
        checks.append(AccessCheck(ada.id, "web", "Member"))
        *unknown, known = decisions.check_access(tx, org, checks)
        assert [d.allowed for d in unknown] == [False] * 3
        assert unknown[0].reasons == (f"No project 'nope-{batch}-0' in this organization",)
        assert known.allowed
    kept = catalog.catalog(tx, org)
    assert kept.unknown <= 5
    assert kept.by_name["web"] is not None
