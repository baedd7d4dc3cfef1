"""Events in the console: a member's history, and the events of a provisioning-log entry
(or, in dry-run mode, the changes it would have made)."""

from __future__ import annotations

import re

import pytest

from tests.faces.admin.helpers import Site, sign_in

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "grace@example.com",
    "emails": [{"value": "grace@example.com", "type": "work"}],
}


@pytest.fixture
def console(site: Site) -> Site:
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    return site


def _entry_link(site: Site) -> str:
    listing = site.client.get("/console/provisioning?method=POST").text
    found = re.search(r'href="(/console/provisioning/\d+)"><code>POST /scim/Users<', listing)
    assert found is not None, listing
    return found.group(1)


def test_member_page_shows_member_created(console: Site) -> None:
    """A member created over SCIM has a `member.created` event on their page."""
    user = console.scim("POST", "/Users", body=USER).json()
    page = console.client.get(f"/console/members/{user['id']}").text
    assert "Event history" in page and "<code>member.created</code>" in page
    full = console.client.get(f"/console/members/{user['id']}/events").text
    assert "<code>member.created</code>" in full


def test_provisioning_entry_links_to_its_events(console: Site) -> None:
    """The log entry of a SCIM POST /Users lists the `member.created` event it produced."""
    user = console.scim("POST", "/Users", body=USER).json()
    page = console.client.get(_entry_link(console)).text
    assert "Events it produced" in page and "<code>member.created</code>" in page
    assert f'href="/console/members/{user["id"]}"' in page


def test_dry_run_entry_shows_its_would_be_changes(console: Site) -> None:
    """In dry-run mode the entry shows the events the request would have produced."""
    console.api.patch("/org", {"provisioning_mode": "dry_run"})
    assert console.scim("POST", "/Users", body=USER).status_code == 201
    page = console.client.get(_entry_link(console)).text
    assert "Would-be changes" in page and "<code>member.created</code>" in page
    assert (
        console.scim("GET", '/Users?filter=userName eq "grace@example.com"').json()["totalResults"]
        == 0
    )


@pytest.mark.parametrize("entry", ["abc", "99999999999999999999999", "123456"])
def test_unknown_provisioning_entry_is_not_found(console: Site, entry: str) -> None:
    """An entry id that is not a number, too long or not the org's answers 404."""
    assert console.client.get(f"/console/provisioning/{entry}").status_code == 404
