"""RFC 9865 cursor pagination on /Users and /Groups, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.protocol.cursors import CURSOR_TIMEOUT, Cursor, CursorCodec
from scimitar.protocol.errors import ExpiredCursor, InvalidCount, InvalidCursor
from tests.faces.scim.harness import Scim, make_org
from tests.faces.scim.test_wire import assert_error

PEOPLE = 23  # and the owner: 24 users in all


@pytest.fixture
def created_names(scim: Scim) -> list[str]:
    with scim.db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        for n in range(PEOPLE):
            people.create_member(
                tx, scim.org, {"userName": f"p{n:02}@example.com", "displayName": f"P {n % 5}"}
            )
    return ["owner@example.com"] + [f"p{n:02}@example.com" for n in range(PEOPLE)]


def names(body: dict[str, Any]) -> list[str]:
    return [r["userName"] for r in body["Resources"]]


def walk(scim: Scim, query: str, direction: str = "nextCursor") -> list[dict[str, Any]]:
    """Every page from an empty cursor, following `nextCursor` to the end."""
    pages = [scim.request("GET", f"/Users?{query}&cursor").json()]
    while direction in pages[-1]:
        cursor = pages[-1][direction]
        response = scim.request("GET", f"/Users?{query}&cursor={cursor}")
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


def test_pages_follow_next_cursor_to_the_end(scim: Scim, created_names: list[str]) -> None:
    pages = walk(scim, "count=10")
    assert [len(p["Resources"]) for p in pages] == [10, 10, 4]
    assert [n for p in pages for n in names(p)] == created_names  # creation order, none twice
    for page in pages:
        assert page["totalResults"] == 24 and page["itemsPerPage"] == len(page["Resources"])
        assert "startIndex" not in page
    assert "previousCursor" not in pages[0]  # RFC 9865: never on the first page
    assert "nextCursor" not in pages[-1]  # only the last page lacks it
    assert all("previousCursor" in p for p in pages[1:])
    for cursor in (pages[0]["nextCursor"], pages[1]["previousCursor"]):
        assert all(c.isalnum() or c in "-._~" for c in cursor)  # RFC 3986 unreserved


def test_previous_cursor_walks_back(scim: Scim, created_names: list[str]) -> None:
    pages = walk(scim, "count=10")
    back = scim.request("GET", f"/Users?count=10&cursor={pages[2]['previousCursor']}").json()
    assert names(back) == names(pages[1])
    first = scim.request("GET", f"/Users?count=10&cursor={back['previousCursor']}").json()
    assert names(first) == names(pages[0])
    assert "previousCursor" not in first and first["nextCursor"]


def test_keyset_pages_do_not_shift_when_rows_come_and_go(
    scim: Scim, created_names: list[str]
) -> None:
    first = scim.request("GET", "/Users?count=10&cursor").json()
    # Remove someone already seen and add someone new: index pages would now skip p10.
    seen = first["Resources"][3]["id"]
    assert scim.request("DELETE", f"/Users/{seen}").status_code == 204
    created = scim.request("POST", "/Users", {"userName": "late@example.com"})
    assert created.status_code == 201
    second = scim.request("GET", f"/Users?count=10&cursor={first['nextCursor']}").json()
    assert names(second)[0] == "p09@example.com"
    rest = walk(scim, "count=10")
    assert "late@example.com" in [n for p in rest for n in names(p)]


def test_filter_and_sort_with_cursors(scim: Scim, created_names: list[str]) -> None:
    query = "filter=displayName%20eq%20%22P%202%22&sortBy=userName&sortOrder=descending&count=2"
    pages = walk(scim, query)
    assert [n for p in pages for n in names(p)] == [
        f"p{n:02}@example.com" for n in (22, 17, 12, 7, 2)
    ]
    assert [len(p["Resources"]) for p in pages] == [2, 2, 1] and pages[0]["totalResults"] == 5
    back = scim.request("GET", f"/Users?{query}&cursor={pages[-1]['previousCursor']}").json()
    assert names(back) == names(pages[-2])


def test_search_request_body_takes_a_cursor(scim: Scim, created_names: list[str]) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 20}
    first = scim.request("POST", "/Users/.search", {**body, "cursor": ""}).json()
    second = scim.request("POST", "/Users/.search", {**body, "cursor": first["nextCursor"]})
    assert names(first) + names(second.json()) == created_names


def test_groups_page_by_cursor(scim: Scim) -> None:
    for n in range(5):
        assert scim.request("POST", "/Groups", {"displayName": f"Team {n}"}).status_code == 201
    first = scim.request("GET", "/Groups?count=3&cursor&excludedAttributes=members").json()
    second = scim.request("GET", f"/Groups?count=3&cursor={first['nextCursor']}").json()
    seen = [g["displayName"] for g in first["Resources"] + second["Resources"]]
    assert len(seen) == len(set(seen)) == first["totalResults"] >= 5


def test_count_zero_gives_the_total_only(scim: Scim, created_names: list[str]) -> None:
    body = scim.request("GET", "/Users?count=0&cursor").json()
    assert body["totalResults"] == 24 and body["Resources"] == []
    assert "nextCursor" not in body


@pytest.mark.parametrize(
    "cursor", ["garbage", "a.b", "ééé.x", "", "eyJvIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"]
)
def test_forged_cursors_are_invalid_cursor(
    scim: Scim, created_names: list[str], cursor: str
) -> None:
    response = scim.request("GET", f"/Users?count=10&cursor={cursor}x")
    assert_error(response, 400, "invalidCursor")


def test_a_cursor_is_bound_to_its_query_its_count_and_its_org(
    scim: Scim, created_names: list[str]
) -> None:
    cursor = scim.request("GET", "/Users?count=10&cursor").json()["nextCursor"]
    other_filter = scim.request("GET", f'/Users?count=10&filter=userName sw "p"&cursor={cursor}')
    assert_error(other_filter, 400, "invalidCursor")
    other_count = scim.request("GET", f"/Users?count=5&cursor={cursor}")
    assert "count must stay 10" in assert_error(other_count, 400, "invalidCount")["detail"]  # type: ignore[operator]
    _, globex_key = make_org(scim.db, "globex")
    elsewhere = scim.client.get(
        f"/scim/Users?count=10&cursor={cursor}", headers={"Authorization": f"Bearer {globex_key}"}
    )
    assert_error(elsewhere, 400, "invalidCursor")
    groups = scim.request("GET", f"/Groups?count=10&cursor={cursor}")
    assert_error(groups, 400, "invalidCursor")


def test_cursor_and_start_index_together(scim: Scim, created_names: list[str]) -> None:
    assert_error(scim.request("GET", "/Users?startIndex=5&cursor"), 400, "invalidValue")
    assert scim.request("GET", "/Users?startIndex=1&cursor").status_code == 200


def test_root_search_refuses_cursors_with_a_way_out(scim: Scim) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": ""}
    detail = assert_error(scim.request("POST", "/.search", body), 400, "invalidValue")["detail"]
    assert "/Users/.search" in detail  # type: ignore[operator]


def test_without_cursor_pagination_stays_by_index(scim: Scim, created_names: list[str]) -> None:
    body = scim.request("GET", "/Users?count=10&startIndex=11").json()
    assert body["startIndex"] == 11 and "nextCursor" not in body
    assert names(body) == created_names[10:20]


def test_service_provider_config_advertises_both_methods(scim: Scim) -> None:
    spc = scim.client.get("/scim/ServiceProviderConfig").json()
    assert spc["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": CURSOR_TIMEOUT,
    }


def test_codec_expiry_and_errors() -> None:
    now = [1_000_000.0]
    codec = CursorCodec(b"k" * 32, clock=lambda: now[0])
    token = codec.encode(Cursor(after=7), org_id="o", query="q", count=10)
    assert codec.decode(token, org_id="o", query="q", count=10) == Cursor(after=7)
    with pytest.raises(InvalidCount):
        codec.decode(token, org_id="o", query="q", count=11)
    with pytest.raises(InvalidCursor):
        CursorCodec(b"other key" * 4).decode(token, org_id="o", query="q", count=10)
    now[0] += CURSOR_TIMEOUT + 1
    with pytest.raises(ExpiredCursor):
        codec.decode(token, org_id="o", query="q", count=10)


def test_walking_back_onto_deleted_rows_still_leads_forward(
    scim: Scim, created_names: list[str]
) -> None:
    """Page 2's previousCursor, after everything on page 1 was deleted: an empty page, but
    with a nextCursor that goes on from page 2, so the client never stops early."""
    query = "filter=userName%20sw%20%22p%22&count=10"
    pages = walk(scim, query)
    for resource in pages[0]["Resources"]:
        assert scim.request("DELETE", f"/Users/{resource['id']}").status_code == 204
    back = scim.request("GET", f"/Users?{query}&cursor={pages[1]['previousCursor']}").json()
    assert back["Resources"] == [] and "previousCursor" not in back
    onward = scim.request("GET", f"/Users?{query}&cursor={back['nextCursor']}").json()
    assert names(onward) == names(pages[1])
