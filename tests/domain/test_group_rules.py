"""Coalescing of PATCH member deltas."""

from __future__ import annotations

from scimitar.domain.group_rules import coalesce
from scimitar.protocol.patch import MemberChange


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
