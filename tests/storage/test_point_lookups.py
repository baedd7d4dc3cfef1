"""Lookups by an indexed attribute (`userName eq "…"`) take prepared statements of their own;
they must answer exactly as the general filter compiler does, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimitar.domain.context import Tx
from scimitar.domain.directory import search
from scimitar.protocol.errors import InvalidFilter
from scimitar.protocol.filter import AttrPath, Compare, parse_filter
from scimitar.protocol.listing import Query
from scimitar.protocol.schema import GROUP, USER
from scimitar.storage.filters import indexed_equality
from tests.storage.test_filters import (
    BABS,
    INJECTION,
    OWNER,
    PERCENT,
    World,
    add,
    group_names,
    users,
    world,
)

__all__ = ["world"]  # the fixture, shared with test_filters

LOOKUPS = [
    f'userName eq "{BABS}"',
    f'userName eq "{BABS.upper()}"',
    'userName eq "ZOË.ÅNGSTRÖM@EXAMPLE.COM"',
    f'userName eq "{PERCENT}"',
    'userName eq "a_b@example.com"',
    'userName eq "nobody@example.com"',
    'userName EQ "bjensen@example.com"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BJENSEN@example.com"',
    'externalId eq "EXT-1"',
    'externalId eq "ext-1"',  # externalId is caseExact
    'displayName eq "the boss"',
    f'displayName eq "{INJECTION}"',
    'name.givenName eq "barbara"',
    'name.familyName eq "ÅNGSTRÖM"',
    'userName eq ""',
]


@pytest.mark.parametrize("text", LOOKUPS)
def test_point_lookup_answers_as_the_filter_compiler(tx: Tx, world: World, text: str) -> None:
    tree = parse_filter(text)
    assert indexed_equality(USER, tree) is not None
    page = search.search_members(tx, world.org, Query(tree))
    assert {m.user_name for m in page.items} == users(tx, world.org, text)
    assert page.total == len(page.items)
    # And never another org's member, though globex has its own bjensen.
    assert all(m.org_id == world.org.id for m in page.items)


def test_point_lookup_by_id(tx: Tx, world: World) -> None:
    babs = world.people[BABS]
    page = search.search_members(tx, world.org, Query(parse_filter(f'id eq "{babs.id}"')))
    assert [m.id for m in page.items] == [babs.id]
    assert page.items[0] == babs  # every column converted as SQLAlchemy converts it
    elsewhere = search.search_members(tx, world.other, Query(parse_filter(f'id eq "{babs.id}"')))
    assert elsewhere.items == [] and elsewhere.total == 0


def test_point_lookup_pages_and_counts_like_any_list(tx: Tx, world: World) -> None:
    twins = [add(tx, world.org, f"twin{n}@example.com", externalId="shared") for n in range(3)]
    tree = parse_filter('externalId eq "shared"')
    first = search.search_members(tx, world.org, Query(tree, limit=2))
    assert [m.id for m in first.items] == [t.id for t in twins[:2]]  # in creation order
    assert first.total == 3
    whole = search.search_members(tx, world.org, Query(tree, limit=10))
    assert [m.id for m in whole.items] == [t.id for t in twins] and whole.total == 3
    counted = search.search_members(tx, world.org, Query(tree, limit=0))
    assert counted.items == [] and counted.total == 3
    # A later page goes the general way and agrees.
    second = search.search_members(tx, world.org, replace(Query(tree, limit=2), offset=2))
    assert [m.id for m in second.items] == [twins[2].id] and second.total == 3


def test_group_point_lookups(tx: Tx, world: World) -> None:
    for text in ('displayName eq "engineers"', 'externalId eq "G-EXT"', 'displayName eq "x"'):
        page = search.search_groups(tx, world.org, Query(parse_filter(text)))
        assert {g.display_name for g in page.items} == group_names(tx, world.org, text), text


@pytest.mark.parametrize(
    ("resource", "text", "unique"),
    [
        (USER, 'userName eq "x"', True),
        (USER, 'id eq "x"', True),
        (USER, 'externalId eq "x"', False),
        (USER, 'displayName eq "x"', False),
        (USER, 'name.givenName eq "x"', False),
        (GROUP, 'displayName eq "x"', True),
        (GROUP, 'id eq "x"', True),
        (GROUP, 'externalId eq "x"', False),
    ],
)
def test_which_lookups_are_unique(resource: object, text: str, unique: bool) -> None:
    equality = indexed_equality(resource, parse_filter(text))  # type: ignore[arg-type]
    assert equality is not None and equality.unique is unique


@pytest.mark.parametrize(
    "text",
    [
        'userName ne "x"',
        'userName co "x"',
        'title eq "x"',  # stored in the document, not a column
        "active eq true",
        'userName eq "x" or userName eq "y"',
        'emails.value eq "x"',
        'emails[type eq "work"].value eq "x"',
        'not (userName eq "x")',
    ],
)
def test_other_filters_take_the_general_path(text: str) -> None:
    assert indexed_equality(USER, parse_filter(text)) is None


def test_unknown_attribute_is_still_refused() -> None:
    with pytest.raises(InvalidFilter, match="shoeSize"):
        indexed_equality(USER, parse_filter('shoeSize eq "x"'))


# The parser reads `attr eq "text"` in one regular-expression match; anything it accepts
# must parse exactly as the full parser parses it (parenthesised, it takes the full path).

NAMES = st.sampled_from(
    ["userName", "USERNAME", "name.givenName", "emails.value", "x", "urn:a:b:c:userName", "a$b"]
)
VALUES = st.text(max_size=30)
SPACES = st.sampled_from([" ", "  ", "\t", " \u00a0"])


@given(name=NAMES, value=VALUES, before=SPACES, after=SPACES, op=st.sampled_from(["eq", "EQ"]))
def test_lookup_fast_path_parses_as_the_parser(
    name: str, value: str, before: str, after: str, op: str
) -> None:
    import json

    text = f"{before}{name} {op} {json.dumps(value, ensure_ascii=False)}{after}"
    try:
        slow = parse_filter(f"({text})")
    except InvalidFilter:
        with pytest.raises(InvalidFilter):
            parse_filter(text)
        return
    assert parse_filter(text) == slow


def test_lookup_fast_path_result() -> None:
    assert parse_filter(f'userName eq "{OWNER}"') == Compare(AttrPath("userName"), "eq", OWNER)
    assert parse_filter('userName eq "a\\"b"') == Compare(AttrPath("userName"), "eq", 'a"b')
