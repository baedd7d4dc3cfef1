"""Compiled filters agree with a plain Python reading of the filter over the stored users,
on both engines, for hypothesis-generated filters (not/and/or over single- and
multi-valued attributes, value filters, every operator)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store as domain_groups
from scimitar.domain.directory.people import create_member
from scimitar.domain.models import GroupKind, Org
from scimitar.protocol.errors import InvalidFilter
from scimitar.protocol.filter import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from scimitar.protocol.resource import normalize
from scimitar.protocol.schema import CORE_USER, GROUP, USER
from scimitar.storage.filters import compile_filter
from scimitar.storage.tables import group_members, groups, members
from tests.domain.helpers import make_org

# Few letters, so that generated values often match stored ones, in either case.
WORDS = ["a", "B", "ab", "Ba", "b@x", "A@X", "x", "@", "work", "Home", "1", "zz"]
TYPES = ["work", "home", "Other"]
STRING_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


@dataclass
class Person:
    user_name: str
    document: dict[str, Any]
    active: bool
    groups: list[dict[str, str]]


def _people() -> list[dict[str, Any]]:
    """Users whose attributes cover absent, empty-list, one and several values."""
    return [
        {"userName": "ab@x", "title": "Ba", "emails": [{"value": "ab@x", "type": "work"}]},
        {
            "userName": "ba@x",
            "displayName": "A B",
            "externalId": "Ab",
            "emails": [
                {"value": "B@X", "type": "work", "primary": True},
                {"value": "a@home", "type": "home"},
            ],
            "phoneNumbers": [{"value": "1-a", "type": "work"}, {"value": "zz", "type": "home"}],
        },
        {"userName": "zz@x", "active": False, "addresses": [{"locality": "Ab", "country": "x"}]},
        {
            "userName": "x@x",
            "title": "work",
            "emails": [{"value": "x@x", "type": "Other"}, {"value": "1@x"}],
            "addresses": [{"locality": "ba", "type": "home"}, {"country": "B"}],
        },
        {"userName": "1@x", "externalId": "ab", "phoneNumbers": [{"value": "@"}]},
        {"userName": "home@x", "title": "", "displayName": "zz"},
    ]


def _world(tx: Tx, org: Org, tag: str) -> list[str]:
    """The people in `org`, two groups; their user names (with `tag`)."""
    created = []
    for body in _people():
        body = {**body, "userName": f"{tag}{body['userName']}", "schemas": [CORE_USER]}
        created.append(create_member(tx, org, normalize(USER, body)))
    for name, chosen in (("Work Team", created[:2]), ("ab", created[1:2] + created[3:5])):
        group = domain_groups.insert_group(tx, org, GroupKind.CUSTOM, name)
        domain_groups.add_members(tx, org, group, [person.id for person in chosen])
    return [person.user_name for person in created]


def _stored(tx: Tx, org: Org) -> list[Person]:
    rows = tx.conn.execute(
        select(members.c.id, members.c.user_name, members.c.attributes, members.c.active).where(
            members.c.org_id == org.id
        )
    ).all()
    memberships = tx.conn.execute(
        select(group_members.c.member_id, groups.c.id, groups.c.display_name).join(
            groups, groups.c.id == group_members.c.group_id
        )
    ).all()
    return [
        Person(
            row.user_name,
            row.attributes,
            row.active,
            [
                {"value": g.id, "display": g.display_name}
                for g in memberships
                if g.member_id == row.id
            ],
        )
        for row in rows
    ]


# --- The reference: RFC 7644 §3.4.2.2 read plainly, with Scimitar's documented choices ----


def _text_test(actual: Any, op: str, expected: str, case_exact: bool) -> bool:
    if op == "pr":
        return actual not in (None, "", [], {})
    if not isinstance(actual, str):
        return False  # absent: no comparison holds (`ne` is handled as `not eq`)
    left, right = (actual, expected) if case_exact else (actual.lower(), expected.lower())
    tests: dict[str, Callable[[str, str], bool]] = {
        "eq": str.__eq__,
        "co": str.__contains__,
        "sw": str.startswith,
        "ew": str.endswith,
        "gt": str.__gt__,
        "ge": str.__ge__,
        "lt": str.__lt__,
        "le": str.__le__,
    }
    return tests[op](left, right)


def _test(actual: Any, node: Compare | Present, case_exact: bool = False) -> bool:
    if isinstance(node, Present):
        return _text_test(actual, "pr", "", case_exact)
    if isinstance(node.value, bool):
        return bool(actual == node.value) if node.op == "eq" else bool(actual != node.value)
    assert isinstance(node.value, str)
    if node.op == "ne":
        return not _text_test(actual, "eq", node.value, case_exact)
    return _text_test(actual, node.op, node.value, case_exact)


def _elements(person: Person, name: str) -> list[dict[str, Any]]:
    if name == "groups":
        return person.groups
    found: list[dict[str, Any]] = person.document.get(name) or []
    return found


def _element_filter(tree: Filter, element: dict[str, Any], exact: bool = False) -> bool:
    """`exact`: the values compare case-sensitively (a Group's member ids)."""
    if isinstance(tree, And):
        return _element_filter(tree.left, element, exact) and _element_filter(
            tree.right, element, exact
        )
    if isinstance(tree, Or):
        return _element_filter(tree.left, element, exact) or _element_filter(
            tree.right, element, exact
        )
    if isinstance(tree, Not):
        return not _element_filter(tree.expr, element, exact)
    assert isinstance(tree, Compare | Present)
    value = element.get(tree.path.attr)
    if tree.path.attr == "primary":
        value = bool(value)
    return _test(value, tree, case_exact=exact and tree.path.attr == "value")


def reference(tree: Filter, person: Person) -> bool:
    if isinstance(tree, And):
        return reference(tree.left, person) and reference(tree.right, person)
    if isinstance(tree, Or):
        return reference(tree.left, person) or reference(tree.right, person)
    if isinstance(tree, Not):
        return not reference(tree.expr, person)
    if isinstance(tree, ValuePath):
        return any(_element_filter(tree.filter, e) for e in _elements(person, tree.path.attr))
    path = tree.path
    if path.attr == "active":
        return _test(person.active, tree)
    if path.attr in ("emails", "phoneNumbers", "addresses", "groups"):
        elements = _elements(person, path.attr)
        if isinstance(tree, Present) and path.sub is None:
            return bool(elements)
        sub = path.sub or "value"
        if isinstance(tree, Compare) and tree.op == "ne":
            equal = Compare(AttrPath(sub), "eq", tree.value)
            return not any(_element_filter(equal, e) for e in elements)
        single = Compare(AttrPath(sub), tree.op, tree.value) if isinstance(tree, Compare) else None
        return any(_element_filter(single or Present(AttrPath(sub)), e) for e in elements)
    return _test(person.document.get(path.attr), tree, case_exact=path.attr == "externalId")


# --- Filters --------------------------------------------------------------------------------

_word = st.sampled_from(WORDS)


def _compare(attr: str, sub: str | None = None) -> st.SearchStrategy[Filter]:
    path = AttrPath(attr, sub)
    return st.one_of(
        st.builds(Compare, st.just(path), st.sampled_from(STRING_OPS), _word),
        st.just(Present(path)),
    )


def _inner(attr: str, subs: list[str]) -> st.SearchStrategy[Filter]:
    leaf = st.one_of(*(_compare(sub) for sub in subs))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
        ),
        max_leaves=3,
    )


_SUBS = {
    "emails": ["value", "type"],
    "phoneNumbers": ["value", "type"],
    "addresses": ["locality", "country", "type"],
    "groups": ["value", "display"],
}

LEAVES: st.SearchStrategy[Filter] = st.one_of(
    *(_compare(attr) for attr in ("userName", "title", "displayName", "externalId")),
    *(_compare(attr) for attr in _SUBS if "value" in _SUBS[attr]),
    st.just(Present(AttrPath("addresses"))),
    *(_compare(attr, sub) for attr, subs in _SUBS.items() for sub in subs),
    st.builds(Compare, st.just(AttrPath("active")), st.sampled_from(["eq", "ne"]), st.booleans()),
    st.builds(
        Compare,
        st.just(AttrPath("emails", "primary")),
        st.sampled_from(["eq", "ne"]),
        st.booleans(),
    ),
    *(
        st.builds(ValuePath, st.just(AttrPath(attr)), _inner(attr, subs))
        for attr, subs in _SUBS.items()
    ),
)
FILTERS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
    ),
    max_leaves=6,
)


def _answers(tx: Tx, org: Org, tree: Filter, org_id: str | None) -> set[str] | None:
    try:
        condition = compile_filter(USER, tree, org_id=org_id)
    except InvalidFilter as refused:
        if "too costly" not in refused.detail:  # the only refusal these filters may meet
            raise
        return None
    query = select(members.c.user_name).where(members.c.org_id == org.id, condition)
    return set(tx.conn.execute(query).scalars())


def test_compiled_filters_agree_with_python(tx: Tx) -> None:
    """For any generated filter, the rows the SQL selects (bound to the org, and not) are
    exactly the org's users the reference evaluation accepts; another org's never appear."""
    org, other = make_org(tx), make_org(tx, "globex")
    _world(tx, org, "")
    _world(tx, other, "other-")
    people = _stored(tx, org)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(FILTERS)
    def agree(tree: Filter) -> None:
        expected = {person.user_name for person in people if reference(tree, person)}
        for org_id in (org.id, None):
            got = _answers(tx, org, tree, org_id)
            if got is not None:
                assert got == expected, (tree, org_id)

    agree()


# --- Groups ---------------------------------------------------------------------------------


@dataclass
class Team:
    display_name: str
    external_id: str | None
    members: list[str]


def _group_reference(tree: Filter, team: Team) -> bool:
    if isinstance(tree, And):
        return _group_reference(tree.left, team) and _group_reference(tree.right, team)
    if isinstance(tree, Or):
        return _group_reference(tree.left, team) or _group_reference(tree.right, team)
    if isinstance(tree, Not):
        return not _group_reference(tree.expr, team)
    elements = [{"value": member_id, "type": "User"} for member_id in team.members]
    if isinstance(tree, ValuePath):
        return any(_element_filter(tree.filter, e, exact=True) for e in elements)
    path = tree.path
    if path.attr == "members":
        if isinstance(tree, Present) and path.sub is None:
            return bool(elements)
        sub = path.sub or "value"
        if isinstance(tree, Compare) and tree.op == "ne":
            equal = Compare(AttrPath(sub), "eq", tree.value)
            return not any(_element_filter(equal, e, exact=True) for e in elements)
        single = Compare(AttrPath(sub), tree.op, tree.value) if isinstance(tree, Compare) else None
        tested = single or Present(AttrPath(sub))
        return any(_element_filter(tested, e, exact=True) for e in elements)
    actual = team.display_name if path.attr == "displayName" else team.external_id
    return _test(actual, tree, case_exact=path.attr == "externalId")


def test_compiled_group_filters_agree_with_python(tx: Tx) -> None:
    """The same for Groups: displayName, externalId and members, under not/and/or."""
    org, other = make_org(tx), make_org(tx, "globex")
    _world(tx, other, "other-")
    people = [
        create_member(tx, org, normalize(USER, {"schemas": [CORE_USER], "userName": f"{n}@x"}))
        for n in range(4)
    ]
    ids = [person.id for person in people]
    teams = [
        Team("Ab", "B", ids[:2]),
        Team("ba", "ab", [ids[1]]),
        Team("Work", None, []),
        Team("x@X", "x", ids),
    ]
    for team in teams:
        made = domain_groups.insert_group(
            tx, org, GroupKind.CUSTOM, team.display_name, external_id=team.external_id
        )
        domain_groups.add_members(tx, org, made, team.members)
    member_ids = st.sampled_from([*ids, ids[0].upper(), "nobody"])
    leaves: st.SearchStrategy[Filter] = st.one_of(
        _compare("displayName"),
        _compare("externalId"),
        st.just(Present(AttrPath("members"))),
        st.builds(Compare, st.just(AttrPath("members")), st.sampled_from(["eq", "ne"]), member_ids),
        st.builds(
            Compare, st.just(AttrPath("members", "value")), st.sampled_from(STRING_OPS), _word
        ),
        st.builds(
            ValuePath,
            st.just(AttrPath("members")),
            st.builds(Compare, st.just(AttrPath("value")), st.just("eq"), member_ids),
        ),
    )
    trees = st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
        ),
        max_leaves=6,
    )

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(trees)
    def agree(tree: Filter) -> None:
        expected = {team.display_name for team in teams if _group_reference(tree, team)}
        for org_id in (org.id, None):
            try:
                condition = compile_filter(GROUP, tree, org_id=org_id)
            except InvalidFilter as refused:
                if "too costly" not in refused.detail:
                    raise
                continue
            query = select(groups.c.display_name).where(groups.c.org_id == org.id, condition)
            assert set(tx.conn.execute(query).scalars()) == expected, (tree, org_id)

    agree()
