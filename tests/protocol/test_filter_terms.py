"""The parser's size limit counts comparisons, as its message says (issue #12 item 7)."""

from __future__ import annotations

import pytest

from scimitar.protocol.errors import InvalidFilter
from scimitar.protocol.filter import MAX_FILTER_TERMS, parse_filter


def _chain(terms: int, joiner: str = "or") -> str:
    return f" {joiner} ".join(f'title co "{n}"' for n in range(terms))


@pytest.mark.parametrize("joiner", ["or", "and"])
def test_as_many_comparisons_as_the_limit_are_accepted(joiner: str) -> None:
    """200 comparisons joined by 199 operators parse: operators are not terms."""
    parse_filter(_chain(MAX_FILTER_TERMS, joiner))


def test_one_comparison_more_is_refused_naming_the_limit() -> None:
    """201 comparisons are refused with a message that says what was counted."""
    with pytest.raises(InvalidFilter, match="more than 200 terms") as caught:
        parse_filter(_chain(MAX_FILTER_TERMS + 1))
    assert "comparisons" in caught.value.detail


def test_the_110_comparison_filter_of_the_report_is_accepted() -> None:
    """The filter that was refused because `or` nodes were counted (110 + 109 > 200)."""
    parse_filter(_chain(110))


def test_comparisons_inside_value_filters_and_negations_count() -> None:
    """Each comparison counts once, wherever it sits; `not` and brackets add nothing."""
    inner = " or ".join(f'value co "{n}"' for n in range(100))
    parse_filter(f"not (emails[{inner}]) and not (emails[{inner}])")
    with pytest.raises(InvalidFilter, match="more than 200 terms"):
        parse_filter(f"not (emails[{inner}]) and not (emails[{inner}]) and title pr")
