"""`AdminRoutes`: every /api/v1 endpoint found by method and path segments."""

from __future__ import annotations

from scimitar.faces.admin.endpoint import PREFIX
from tests.faces.admin.helpers import Site, add_member

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def test_paths_with_parameters_methods_and_head(site: Site) -> None:
    ada = add_member(site.db, site.org, "ada@example.com")
    headers = site.api.headers
    assert site.api.get(f"/members/{ada.id}")["user_name"] == "ada@example.com"
    head = site.client.head(f"{PREFIX}/members/{ada.id}", headers=headers)
    assert head.status_code == 200 and head.content == b""
    wrong = site.client.put(f"{PREFIX}/members/{ada.id}", json={}, headers=headers)
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    for path in (f"/members/{ada.id}/nope", "/members//assignments", "/nope", "/members/x/y/z"):
        answer = site.client.get(PREFIX + path, headers=headers)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"
    project = site.api.post("/projects", {"name": "Web"})
    assert site.api.get(f"/projects/{project['id']}")["name"] == "Web"


def test_a_literal_segment_and_a_parameter_in_the_same_place(site: Site) -> None:
    """`/groups/{id}/grants/preview` (POST) and `/groups/{id}/grants/{grant_id}` (DELETE):
    each method finds its own endpoint, and the path's 405 names both."""
    project = site.api.post("/projects", {"name": "Web"})
    group = site.scim(
        "POST", "/Groups", body={"schemas": [GROUP], "displayName": "Finance", "members": []}
    ).json()
    role = next(r["id"] for r in site.api.get("/roles")["roles"] if r["name"] == "Member")
    grant = {"project_id": project["id"], "role_id": role}
    preview = site.api.post(f"/groups/{group['id']}/grants/preview", grant, expect=200)
    assert preview == {"changes": []}  # the group has no members: nobody's access changes
    # As a grant id, "preview" names no grant of the group.
    site.api.delete(f"/groups/{group['id']}/grants/preview", expect=404)
    wrong = site.client.get(
        f"{PREFIX}/groups/{group['id']}/grants/preview", headers=site.api.headers
    )
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) == {"POST", "DELETE"}
