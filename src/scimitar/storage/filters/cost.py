"""What a filter may cost: a budget of work per resource, so a search is linear in the org.

After `compiler` has merged what logic allows, a filter is evaluated once for each resource
of the org, and what that costs is the sum of its parts, in units of one comparison on a
column of the resource's row:
- a comparison on a column: 1; on a value inside the JSON document: 2 (it is read out of
  the document); on a multi-valued attribute: 3 (it is made on each of a few values);
- each separate test of rows of a child table (`emails`, a User's `groups`, a Group's
  `members`): 40 (a probe of an index per row, or a set built once from the org's rows); 1 when
  the test is an indexed equality (`emails.value eq "…"`);
- each separate walk of a JSON array in the document (`phoneNumbers`, `addresses`, …): 50
  (the document is parsed again).
A filter over `MAX_COST` is refused before it runs, saying why; every other filter runs in
time proportional to the org's size. The weights and the budget come from
`bench/adversarial_filters.py` (figures in docs/reliability.md): the costliest filters the
budget admits answer in well under a second at 20 000 users on both engines.
"""

from __future__ import annotations

from enum import IntEnum

from scimitar.protocol.errors import InvalidFilter
from scimitar.storage.filters.attributes import Elements, Rows

__all__ = ["ARRAY_WALK", "MAX_COST", "ROW_TEST", "Cost", "Place"]

MAX_COST = 400
ROW_TEST = 40
INDEXED_ROW_TEST = 1
ARRAY_WALK = 50


class Place(IntEnum):
    """Where a compared value is, weighted by what one comparison there costs."""

    COLUMN = 1
    DOCUMENT = 2
    VALUES = 3


class Cost:
    """The work one filter asks for each resource, added up while its SQL is written."""

    def __init__(self) -> None:
        self.units = 0
        self.comparisons = 0
        self.row_tests = 0
        self.array_walks = 0

    def compare(self, place: Place) -> None:
        self.comparisons += 1
        self.units += place

    def add(self, elements: Elements, lookup: bool) -> None:
        if not isinstance(elements, Rows):
            self.array_walks += 1
            self.units += ARRAY_WALK
        elif lookup:
            self.units += INDEXED_ROW_TEST
        else:
            self.row_tests += 1
            self.units += ROW_TEST

    def check(self, resource: str) -> None:
        """Raise `InvalidFilter`, saying what costs what, when the filter is over budget."""
        if self.units <= MAX_COST:
            return
        raise InvalidFilter(
            f"Filter is too costly to run: {self.units} units of work per {resource}, at most "
            f"{MAX_COST} ({self.comparisons} comparisons, 1 unit each on a column, 2 inside "
            f"the document, 3 on a multi-valued attribute; {self.row_tests} separate tests of "
            f"emails, groups or members, {ROW_TEST} each; {self.array_walks} of other "
            f"multi-valued attributes, {ARRAY_WALK} each). Join tests of one multi-valued "
            'attribute with or, as in emails[value co "a" or value co "b"], or split the search'
        )
