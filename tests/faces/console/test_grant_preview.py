"""Grant preview on a custom group's page: who would gain or lose what, and nothing is
written until Confirm."""

from __future__ import annotations

import re

import pytest

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.events import feed
from tests.faces.admin.helpers import Site, add_member, sign_in
from tests.faces.console.forms import post


@pytest.fixture
def console(site: Site) -> Site:
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    return site


def _last_seq(site: Site) -> int:
    with site.db.read() as conn:
        return feed.last_seq(Tx(conn, SYSTEM_ACTOR), site.org.id)


def _confirm(site: Site, html: str) -> None:
    """Press Confirm: post the preview page's confirmation form as the browser would."""
    form = re.search(r'<form method="post" action="([^"]+)" class="row">(.*?)</form>', html, re.S)
    assert form is not None
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    fields.pop("csrf")
    assert post(site, form.group(1), **fields).status_code == 200


def test_preview_lists_the_change_and_writes_nothing_until_confirm(console: Site) -> None:
    """Attach and remove each preview the member's role change; only Confirm applies it."""
    project = console.api.post("/projects", {"name": "Checkout"})
    ada = add_member(console.db, console.org, "ada@example.com")
    group = console.scim(
        "POST",
        "/Groups",
        body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": ada.id}],
        },
    ).json()
    roles = {r["name"]: r["id"] for r in console.api.get("/roles")["roles"]}
    seq = _last_seq(console)
    grant = f"role:{project['id']}:{roles['Admin']}"
    preview = post(console, f"/console/groups/{group['id']}/grants/preview", grant=grant).text
    assert "ada@example.com" in preview and "Checkout" in preview
    assert "no access → <strong>Admin</strong>" in preview and "Confirm" in preview
    assert console.api.get(f"/members/{ada.id}")["access"] == []
    assert _last_seq(console) == seq
    _confirm(console, preview)
    assert console.api.get(f"/members/{ada.id}")["access"][0]["role"] == "Admin"
    page = console.client.get(f"/console/groups/{group['id']}").text
    grant_id = re.search(r"/grants/([^/]+)/preview", page)
    assert grant_id is not None
    removal = post(console, f"/console/groups/{group['id']}/grants/{grant_id.group(1)}/preview")
    assert "Admin → <strong>no access</strong>" in removal.text
    assert console.api.get(f"/members/{ada.id}")["access"][0]["role"] == "Admin"
    _confirm(console, removal.text)
    assert console.api.get(f"/members/{ada.id}")["access"] == []


def test_preview_of_a_bad_grant_shows_the_message(console: Site) -> None:
    """A grant the form cannot name is refused on the group page, before any preview."""
    group = console.scim(
        "POST",
        "/Groups",
        body={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"},
    ).json()
    bad = post(console, f"/console/groups/{group['id']}/grants/preview", grant="role:nope")
    assert bad.status_code == 422 and "Choose a project role" in bad.text
