"""The filter grammar of RFC 7644 §3.4.2.2, parsed without a database: the tree each form
gives, and a clear `invalidFilter` for what is not a filter."""

from __future__ import annotations

import pytest

from scimitar.protocol.errors import InvalidFilter, InvalidPath
from scimitar.protocol.filter import (
    MAX_FILTER_LENGTH,
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    Present,
    ValuePath,
    parse_attr_path,
    parse_filter,
    parse_patch_path,
)

USER_NAME = AttrPath("userName")


def test_each_comparison_operator_parses() -> None:
    """eq ne co sw ew gt ge lt le take a value; operators are case-insensitive (§3.4.2.2)."""
    for op in ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co"):
        assert parse_filter(f'userName {op} "a"') == Compare(USER_NAME, op.lower(), "a")


def test_values_keep_their_json_type() -> None:
    """Strings, numbers, booleans and null are JSON values (§3.4.2.2)."""
    assert parse_filter("active eq true") == Compare(AttrPath("active"), "eq", True)
    assert parse_filter("active eq False") == Compare(AttrPath("active"), "eq", False)
    assert parse_filter("x eq 12") == Compare(AttrPath("x"), "eq", 12)
    assert parse_filter("x eq null") == Compare(AttrPath("x"), "eq", None)
    assert parse_filter(r'title eq "a \"b\""') == Compare(AttrPath("title"), "eq", 'a "b"')


def test_presence_and_logic_with_precedence() -> None:
    """`and` binds tighter than `or`; `not` and parentheses group (§3.4.2.2)."""
    tree = parse_filter('title pr or userName eq "a" and active eq true')
    assert tree == Or(
        Present(AttrPath("title")),
        And(Compare(USER_NAME, "eq", "a"), Compare(AttrPath("active"), "eq", True)),
    )
    grouped = parse_filter('(title pr or userName eq "a") and not (active eq true)')
    assert grouped == And(
        Or(Present(AttrPath("title")), Compare(USER_NAME, "eq", "a")),
        Not(Compare(AttrPath("active"), "eq", True)),
    )


def test_sub_attributes_urns_and_value_paths() -> None:
    """`name.familyName`, URN-qualified names and `emails[type eq "work"]` (§3.4.2.2)."""
    assert parse_filter('name.familyName sw "Lov"') == Compare(
        AttrPath("name", "familyName"), "sw", "Lov"
    )
    urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert parse_filter(f'{urn}:employeeNumber eq "7"') == Compare(
        AttrPath("employeeNumber", None, urn), "eq", "7"
    )
    assert parse_filter('emails[type eq "work" and value co "@x"]') == ValuePath(
        AttrPath("emails"),
        And(Compare(AttrPath("type"), "eq", "work"), Compare(AttrPath("value"), "co", "@x")),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "userName",
        "userName eq",
        'userName zz "a"',
        'userName eq "a',
        '(userName eq "a"',
        'userName eq "a")',
        'userName eq "a" and',
        "title pr pr",
        'emails[type eq "work"',
        "emails[]",
        "x" * (MAX_FILTER_LENGTH + 1),
        "(" * 100 + 'userName eq "a"' + ")" * 100,
    ],
)
def test_what_is_not_a_filter_is_invalid_filter(text: str) -> None:
    """Malformed, empty, too long or too deep filters are 400 invalidFilter (§3.4.2.2)."""
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert caught.value.scim_type == "invalidFilter"
    assert caught.value.detail


def test_attribute_paths() -> None:
    """`[uri:]attr[.sub]`: names keep the client's case; junk is not a path."""
    assert parse_attr_path("Name.GivenName") == AttrPath("Name", "GivenName")
    assert parse_attr_path("meta.lastModified") == AttrPath("meta", "lastModified")
    assert parse_attr_path("not a path") is None
    assert parse_attr_path("") is None


def test_patch_paths() -> None:
    """PATCH paths: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub` (§3.5.2)."""
    plain = parse_patch_path("displayName")
    assert (plain.attr, plain.filter, plain.sub) == (AttrPath("displayName"), None, None)
    member = parse_patch_path('members[value eq "2819c223"]')
    assert member.filter == Compare(AttrPath("value"), "eq", "2819c223")
    work = parse_patch_path('emails[type eq "work"].value')
    assert (work.attr, work.sub) == (AttrPath("emails"), "value")
    with pytest.raises(InvalidPath):
        parse_patch_path('emails[type eq "work"')
