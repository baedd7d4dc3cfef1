"""Coalescing of PATCH member deltas, and how managed group names read."""

from __future__ import annotations

import pytest

from scimitar.domain.context import Tx
from scimitar.domain.directory import group_kinds, structure
from scimitar.domain.directory.group_kinds import coalesce
from scimitar.domain.errors import InvalidError, PolicyError
from scimitar.domain.models import GroupKind
from scimitar.protocol.patch import MemberChange
from tests.domain.helpers import make_org


def test_runs_of_the_same_kind_merge() -> None:
    """One remove per member (Okta) becomes one remove of all of them."""
    changes = [
        MemberChange("remove", ("a",)),
        MemberChange("remove", ("b",)),
        MemberChange("remove", ("c",)),
    ]
    assert coalesce(changes) == [MemberChange("remove", ("a", "b", "c"))]


def test_order_between_kinds_is_kept() -> None:
    """add a, remove a stays two steps, so the member nets out; clear and replace never merge."""
    changes = [
        MemberChange("add", ("a",)),
        MemberChange("add", ("b",)),
        MemberChange("remove", ("a",)),
        MemberChange("clear"),
        MemberChange("clear"),
        MemberChange("replace", ("x",)),
        MemberChange("replace", ("y",)),
    ]
    assert coalesce(changes) == [
        MemberChange("add", ("a", "b")),
        MemberChange("remove", ("a",)),
        MemberChange("clear"),
        MemberChange("clear"),
        MemberChange("replace", ("x",)),
        MemberChange("replace", ("y",)),
    ]


def test_create_and_rename_read_managed_names_alike(tx: Tx) -> None:
    """One reading of managed names serves creating and renaming: a role suffix with no
    project before it (`Scimitar--Admin`) is a plain custom name for both; a project's
    role suffix is refused by both."""
    org = make_org(tx)
    structure.create_project(tx, org, "Checkout")
    plain = group_kinds.create_group(tx, org, "Scimitar--Admin", None)
    assert plain.kind is GroupKind.CUSTOM
    other = group_kinds.create_group(tx, org, "Engineering", None)
    renamed = group_kinds.rename_group(tx, org, other, "Scimitar--Member")
    assert renamed.display_name == "Scimitar--Member"
    with pytest.raises(PolicyError, match="Project creation"):
        group_kinds.create_group(tx, org, "Scimitar-Billing-Admin", None)
    with pytest.raises(InvalidError, match="role group of a project 'Billing'"):
        group_kinds.rename_group(tx, org, renamed, "Scimitar-Billing-Admin")
