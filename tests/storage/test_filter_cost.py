"""Filters cost at most linear work in the org: tests of rows are never re-run per row over
the org (query plans on both engines), and a filter over the cost budget is refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from scimitar.domain.context import Tx
from scimitar.protocol.errors import InvalidFilter
from scimitar.protocol.filter import parse_filter
from scimitar.protocol.schema import GROUP, USER
from scimitar.storage.filters import compile_filter
from scimitar.storage.filters.cost import MAX_COST
from scimitar.storage.tables import groups, members
from tests.domain.helpers import make_org
from tests.faces.scim.harness import Scim
from tests.faces.scim.test_wire import assert_error
from tests.storage.test_filters import _bulk_members, _plan


def _chain(template: str, joiner: str, terms: int) -> str:
    return f" {joiner} ".join(template.format(n=n) for n in range(terms))


# Issue #12's filters, and shapes that were quadratic the same way.
ADVERSARIAL = [
    'not (emails[type eq "work" and value co "@"])',
    'emails.value co "1" or emails.value co "2"',
    _chain('emails.value co "{n}"', "or", 100),
    'not (emails.value co "1" or not (groups.display sw "x"))',
    'not (emails pr) or not (groups pr) or userName sw "bulk1"',
    'emails.type ne "work" and emails.value co "bulk1"',
]


def test_issue_filters_are_within_budget() -> None:
    """The filters of the report compile; none is refused by the cost model."""
    for filter_text in ADVERSARIAL:
        compile_filter(USER, parse_filter(filter_text), org_id="org")


@pytest.mark.parametrize(
    ("filter_text", "named"),
    [
        (_chain('emails.value co "{n}"', "and", 10), "10 separate tests"),
        (_chain('not (emails co "{n}")', "or", 10), "10 separate tests"),
        (_chain('phoneNumbers co "{n}"', "and", 8), "8 of other multi-valued"),
        (_chain('emails co "x{n}"', "or", 121), "121 comparisons"),
    ],
)
def test_a_filter_over_budget_is_refused_saying_why(filter_text: str, named: str) -> None:
    """Past the budget: invalidFilter naming the budget, the counts and how to fit."""
    with pytest.raises(InvalidFilter) as caught:
        compile_filter(USER, parse_filter(filter_text), org_id="org")
    detail = caught.value.detail
    assert "too costly" in detail and f"at most {MAX_COST}" in detail and named in detail
    assert 'emails[value co "a" or value co "b"]' in detail


def test_merged_tests_of_one_attribute_count_once() -> None:
    """`or` over one attribute, and `and` over its negations, is one test: within budget."""
    compile_filter(USER, parse_filter(_chain('emails co "{n}"', "or", 120)), org_id="org")
    compile_filter(USER, parse_filter(_chain('not (emails co "{n}")', "and", 120)))


def test_scim_answers_an_over_budget_filter_400(scim: Scim) -> None:
    """Through the SCIM API the refusal is 400 invalidFilter, before any query runs."""
    body = {"filter": _chain('emails.value co "{n}"', "and", 10)}
    refused = scim.request("POST", "/Users/.search", body)
    assert "too costly" in str(assert_error(refused, 400, "invalidFilter")["detail"])


def _run_per_row(plan: str) -> list[str]:
    """PostgreSQL's subplans that run again for every row: `(SubPlan n)`, not hashed."""
    return re.findall(r"\((?!hashed )[^()]*SubPlan \d+\)", plan)


PLANNED = [
    *ADVERSARIAL,
    'emails.value eq "bulk1@example.com" or active eq false',
    'not (emails.value eq "bulk1@example.com")',
]


@pytest.mark.parametrize("filter_text", PLANNED)
def test_tests_of_rows_run_once_or_probe_by_owner(tx: Tx, filter_text: str) -> None:
    """SQLite reaches emails only through an index (the owner's, or the org's for a
    lookup), never by a scan; PostgreSQL runs every subquery once (hashed or joined), never
    per member."""
    org = make_org(tx)
    _bulk_members(tx, org, 2000)
    condition = compile_filter(USER, parse_filter(filter_text), org_id=org.id)
    query = select(members.c.user_name).where(members.c.org_id == org.id, condition)
    tx.conn.execute(query).all()
    if tx.conn.dialect.name == "postgresql":
        tx.conn.execute(text("ANALYZE"))
        plan = _plan(tx, query)
        assert _run_per_row(plan) == [], plan
        return
    plan = _plan(tx, query)
    assert "SCAN member_emails" not in plan, plan  # SQLite's word for a walk of a whole table
    assert "SCAN members" not in plan, plan
    # Not a walk of all the org's emails (the quadratic form walked them once per member).
    assert not re.search(r"member_emails USING (COVERING )?INDEX \w+ \(org_id=\?\)", plan), plan


def test_group_member_tests_run_once(tx: Tx) -> None:
    """Groups: `not (members pr)` and `members[value eq …]` are not re-run per group."""
    org = make_org(tx)
    condition = compile_filter(
        GROUP, parse_filter('not (members pr) or members[value eq "x"]'), org_id=org.id
    )
    query = select(groups.c.display_name).where(groups.c.org_id == org.id, condition)
    assert tx.conn.execute(query).all() == []
    if tx.conn.dialect.name == "postgresql":
        plan = _plan(tx, query)
        assert _run_per_row(plan) == [], plan
