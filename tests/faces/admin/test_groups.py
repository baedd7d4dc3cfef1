"""Groups over the admin API: kinds and counts, members by page, grants on custom groups."""

from __future__ import annotations

from tests.faces.admin.helpers import Site, add_member

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def test_groups_list_kinds_and_counts(site: Site) -> None:
    """Each group shows its kind and member count; kind and name filter."""
    site.api.post("/projects", {"name": "Checkout"})
    ada = add_member(site.db, site.org, "ada@example.com")
    custom = site.scim(
        "POST",
        "/Groups",
        body={"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": ada.id}]},
    ).json()
    listed = {g["display_name"]: g for g in site.api.get("/groups?limit=200")["groups"]}
    assert listed["Engineering"]["kind"] == "custom"
    assert listed["Engineering"]["member_count"] == 1
    assert listed["Scimitar-Checkout-Admin"]["kind"] == "role"
    assert listed["Scimitar-Checkout-Admin"]["member_count"] == 0
    custom_only = site.api.get("/groups?kind=custom")
    assert [g["id"] for g in custom_only["groups"]] == [custom["id"]]
    assert site.api.get("/groups?q=ENGINEER")["total"] == 1
    site.api.get("/groups?kind=other", expect=400)


def test_group_members_are_paged(site: Site) -> None:
    """A group's members come a page at a time, with the total."""
    people = [add_member(site.db, site.org, f"p{i}@example.com") for i in range(5)]
    group = site.scim(
        "POST",
        "/Groups",
        body={
            "schemas": [GROUP],
            "displayName": "Everyone",
            "members": [{"value": p.id} for p in people],
        },
    ).json()
    first = site.api.get(f"/groups/{group['id']}?limit=2")
    last = site.api.get(f"/groups/{group['id']}?limit=2&offset=4")
    assert first["members_page"]["total"] == 5 and first["member_count"] == 5
    assert [m["user_name"] for m in first["members"]] == ["p0@example.com", "p1@example.com"]
    assert [m["user_name"] for m in last["members"]] == ["p4@example.com"]
    site.api.get("/groups/unknown", expect=404)


def test_grants_on_custom_groups_reach_members(site: Site) -> None:
    """A grant on a custom group gives its members access, with the group as the reason;
    role groups take no grants."""
    project = site.api.post("/projects", {"name": "Checkout"})
    roles = {r["name"]: r["id"] for r in site.api.get("/roles")["roles"]}
    ada = add_member(site.db, site.org, "ada@example.com")
    group = site.scim(
        "POST",
        "/Groups",
        body={"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": ada.id}]},
    ).json()
    grant = {"project_id": project["id"], "role_id": roles["Admin"]}
    made = site.api.post(f"/groups/{group['id']}/grants", grant)
    site.api.post(f"/groups/{group['id']}/grants", grant, expect=409)
    [access] = site.api.get(f"/members/{ada.id}")["access"]
    assert access["role"] == "Admin"
    assert access["reasons"][0]["via"] == "custom group"
    assert access["reasons"][0]["group_name"] == "Engineering"
    assert site.api.get(f"/groups/{group['id']}")["grants"] == [made]
    role_group = site.api.get("/groups?kind=role&limit=1")["groups"][0]
    site.api.post(f"/groups/{role_group['id']}/grants", grant, expect=422)
    site.api.delete(f"/groups/{group['id']}/grants/{made['id']}")
    site.api.delete(f"/groups/{group['id']}/grants/{made['id']}", expect=404)
    assert site.api.get(f"/members/{ada.id}")["access"] == []
