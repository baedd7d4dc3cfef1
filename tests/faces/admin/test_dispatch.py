"""`AdminRoutes`: every /api/v1 endpoint found by method and path segments."""

from __future__ import annotations

from scimitar.faces.admin.endpoint import PREFIX
from tests.faces.admin.helpers import Site, add_member


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
    # A literal segment and a parameter in the same place: the declared endpoint wins.
    group = site.api.post("/projects", {"name": "Web"})
    assert site.api.get(f"/projects/{group['id']}")["name"] == "Web"
