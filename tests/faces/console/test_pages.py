"""Console pages and actions: each renders, changes go through the domain with the console
user as actor, bad input shows a message and changes nothing."""

from __future__ import annotations

import re

import pytest

from tests.faces.admin.helpers import Site, add_member, csrf_of, sign_in

PAGES = (
    "/console/scim",
    "/console/members",
    "/console/projects",
    "/console/groups",
    "/console/audit",
    "/console/provisioning",
    "/console/settings",
)


@pytest.fixture
def console(site: Site) -> Site:
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    return site


def _post(site: Site, path: str, **data: str) -> object:
    return site.client.post(path, data={"csrf": csrf_of(site.client), **data})


def _error(html: str) -> str:
    found = re.search(r'class="error" role="alert">([^<]*)<', html)
    return found.group(1).replace("&#39;", "'") if found else ""


def test_every_page_renders(console: Site) -> None:
    """Each page answers 200 with the org name, navigation and no-store caching."""
    for page in PAGES:
        response = console.client.get(page)
        assert response.status_code == 200, page
        assert "Acme" in response.text and 'aria-current="page"' in response.text
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_forms_without_csrf_change_nothing(console: Site) -> None:
    """A post without the session's CSRF token is 403 and creates nothing."""
    response = console.client.post("/console/projects", data={"name": "Forged", "csrf": "x"})
    assert response.status_code == 403
    assert console.api.get("/projects")["projects"] == []


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": "checkout"}, 409, "A project named 'checkout' already exists"),
        ({"name": "New", "default_role": "Nope"}, 422, "No role named 'Nope'"),
        ({"name": "   "}, 422, "Project name must not be empty"),
        ({"name": "x" * 150}, 422, "Project name must be at most 100 characters"),
    ],
)
def test_bad_project_input_shows_a_message(
    console: Site, data: dict[str, str], status: int, message: str
) -> None:
    """Duplicate, unknown role, empty and overlong names: message on the page, no change."""
    _post(console, "/console/projects", name="Checkout")
    response = _post(console, "/console/projects", **data)
    assert response.status_code == status
    assert message in _error(response.text)
    assert [p["name"] for p in console.api.get("/projects")["projects"]] == ["Checkout"]


def test_scim_key_is_shown_exactly_once(console: Site) -> None:
    """Regenerate shows the new key on that answer only; the page later shows its hint."""
    response = _post(console, "/console/scim/regenerate")
    key = re.search(r'id="scim-key" readonly value="(scim-[^"]+)"', response.text)
    assert key is not None
    assert console.scim("GET", "/Users", key.group(1)).status_code == 200
    assert console.scim("GET", "/Users").status_code == 401
    later = console.client.get("/console/scim").text
    assert key.group(1) not in later and f"scim-…{key.group(1)[-4:]}" in later
    assert "Enabled" in later and "owner@example.com" in later


def test_deactivate_key_stops_scim(console: Site) -> None:
    """Deactivate in the console: the next SCIM request is 401 and the page says so."""
    response = _post(console, "/console/scim/deactivate")
    assert "Not enabled" in response.text
    assert console.scim("GET", "/Users").status_code == 401


def test_member_role_assignment_and_removal(console: Site) -> None:
    """Role change, direct assignment and removal from the member pages, audited as the
    console user; the removed member is gone over SCIM."""
    project = console.api.post("/projects", {"name": "Checkout"})
    ada = add_member(console.db, console.org, "ada@example.com", display_name="Ada Lovelace")
    found = console.client.get("/console/members?q=lovelace").text
    assert f"/console/members/{ada.id}" in found
    assert f"/console/members/{console.owner.id}" not in found
    _post(console, f"/console/members/{ada.id}/role", org_role="Admin")
    roles = {r["name"]: r["id"] for r in console.api.get("/roles")["roles"]}
    _post(
        console,
        f"/console/members/{ada.id}/assignments",
        grant=f"role:{project['id']}:{roles['Admin']}",
    )
    page = console.client.get(f"/console/members/{ada.id}").text
    assert 'Checkout: <span class="role">Admin</span>' in page and "direct assignment" in page
    confirm = console.client.get(f"/console/members/{ada.id}/remove").text
    assert "unassign them from the app on its next import" in confirm
    _post(console, f"/console/members/{ada.id}/remove")
    assert console.scim("GET", f"/Users/{ada.id}").status_code == 404
    actions = {e["action"]: e["actor"] for e in console.api.get("/audit-log?limit=200")["entries"]}
    assert actions["member.removed"] == "owner@example.com"
    assert actions["member.assignment_added"] == "owner@example.com"


def test_owner_cannot_be_removed_from_the_console(console: Site) -> None:
    """Removing the Owner shows the refusal and keeps them."""
    response = _post(console, f"/console/members/{console.owner.id}/remove")
    assert response.status_code == 409 and "The Owner cannot be removed" in _error(response.text)
    assert console.api.get(f"/members/{console.owner.id}")["org_role"] == "Owner"


def test_structure_pages(console: Site) -> None:
    """Projects, custom roles and teams are created, renamed and deleted from the console;
    every role shows its permissions."""
    _post(console, "/console/projects", name="Checkout", default_role="Member")
    [project] = console.api.get("/projects")["projects"]
    _post(console, f"/console/projects/{project['id']}", name="Payments", default_role="Read-Only")
    _post(console, "/console/roles", name="Flag Editor", permissions="flags:write, flags:read")
    _post(console, "/console/teams", project_id=project["id"], name="Core")
    [project] = console.api.get("/projects")["projects"]
    assert (project["name"], project["default_role"]) == ("Payments", "Read-Only")
    assert [t["name"] for t in project["teams"]] == ["Core"]
    role = next(r for r in console.api.get("/roles")["roles"] if r["name"] == "Flag Editor")
    assert role["permissions"] == ["flags:read", "flags:write"]
    page = console.client.get("/console/projects").text
    assert "Flag Editor" in page and "flags:read, flags:write" in page
    assert "project.read, project.write</td>" in page  # the built-in Member role's set
    assert "Its teams" in console.client.get(f"/console/projects/{project['id']}/delete").text
    _post(console, f"/console/teams/{project['teams'][0]['id']}/delete")
    _post(console, f"/console/roles/{role['id']}/delete")
    _post(console, f"/console/projects/{project['id']}/delete")
    assert console.api.get("/projects")["projects"] == []
    assert len(console.api.get("/roles")["roles"]) == 4


def test_group_pages_and_grants(console: Site) -> None:
    """Groups list with kinds; a grant attached on a custom group's page reaches its members."""
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
    listing = console.client.get("/console/groups?kind=custom").text
    assert "Engineering" in listing and "Scimitar-Checkout-Admin" not in listing
    roles = {r["name"]: r["id"] for r in console.api.get("/roles")["roles"]}
    _post(
        console,
        f"/console/groups/{group['id']}/grants",
        grant=f"role:{project['id']}:{roles['Admin']}",
    )
    page = console.client.get(f"/console/groups/{group['id']}").text
    assert "Checkout: Admin" in page and "ada@example.com" in page
    assert console.api.get(f"/members/{ada.id}")["access"][0]["role"] == "Admin"
    bad = _post(console, f"/console/groups/{group['id']}/grants", grant="role:nope")
    assert bad.status_code == 422 and "Choose a project role" in _error(bad.text)


def test_settings_tokens_and_ownership(console: Site) -> None:
    """Settings save (bad values refused), a token is shown once and revoked, ownership moves."""
    _post(
        console,
        "/console/settings",
        name="Acme Corp",
        allowed_domains="example.com, example.org",
        group_prefix="Acme",
        email_changes="reject",
        custom_groups="allow",
        provisioning_mode="live",
    )
    org = console.api.get("/org")
    assert (org["name"], org["allowed_domains"], org["email_changes"]) == (
        "Acme Corp",
        ["example.com", "example.org"],
        "reject",
    )
    bad = _post(
        console,
        "/console/settings",
        name="Acme Corp",
        allowed_domains="not a domain!",
        group_prefix="Acme",
        email_changes="reject",
        custom_groups="allow",
        provisioning_mode="live",
    )
    assert bad.status_code == 422 and "is not a valid email domain" in _error(bad.text)
    assert console.api.get("/org") == org
    created = _post(console, "/console/api-tokens", name="terraform").text
    token = re.search(r'id="api-token" readonly value="(sat-[^"]+)"', created)
    assert token is not None
    assert token.group(1) not in console.client.get("/console/settings").text
    [info] = [t for t in console.api.get("/api-tokens")["tokens"] if t["name"] == "terraform"]
    _post(console, f"/console/api-tokens/{info['id']}/revoke")
    assert (
        console.client.get(
            "/api/v1/org", headers={"Authorization": f"Bearer {token.group(1)}"}
        ).status_code
        == 401
    )
    ada = add_member(console.db, console.org, "ada@example.com")
    _post(console, "/console/ownership", email="ada@example.com")
    assert console.api.get(f"/members/{ada.id}")["org_role"] == "Owner"
    assert console.api.get(f"/members/{console.owner.id}")["org_role"] == "Admin"


def test_logs_pages(console: Site) -> None:
    """The audit and provisioning logs show entries newest first and filter them."""
    console.scim("GET", "/Users/missing")
    console.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    page = console.client.get("/console/provisioning?status=4xx").text
    assert "GET /scim/Users/missing" in page and "404" in page
    assert (
        "GET /scim/Users/missing" not in console.client.get("/console/provisioning?status=2xx").text
    )
    audit = console.client.get("/console/audit?action=console.").text
    assert "console.signed_in" in audit and "org.created" not in audit


@pytest.mark.parametrize(
    "page",
    [
        "/console/members?page=²",
        "/console/members?page=99999999999999999999999",
        "/console/groups?page=%D9%A3",
        "/console/audit?before=²",
        "/console/provisioning?before=99999999999999999999999",
        "/console/provisioning?before=%D9%A3",
    ],
)
def test_odd_numbers_in_the_query_fall_back_to_the_first_page(console: Site, page: str) -> None:
    """A page or cursor that is not a small ASCII number shows the first page, never a 500."""
    response = console.client.get(page)
    assert response.status_code == 200, response.text


def test_transfer_names_the_new_owner_in_any_case(console: Site) -> None:
    """Ownership moves to the member named by email (in any case); the Owner becomes Admin."""
    ada = add_member(console.db, console.org, "ada@example.com")
    moved = _post(console, "/console/ownership", email="ADA@example.com")
    assert moved.status_code == 200
    assert console.api.get(f"/members/{ada.id}")["org_role"] == "Owner"
    assert console.api.get(f"/members/{console.owner.id}")["org_role"] == "Admin"
