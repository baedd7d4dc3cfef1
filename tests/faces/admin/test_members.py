"""Members over the admin API: search, effective access and why, org role, removal,
direct assignments."""

from __future__ import annotations

import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store
from scimitar.domain.models import OrgRole
from tests.faces.admin.helpers import Site, add_member


def _join(site: Site, group_name: str, member_id: str) -> None:
    with site.db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        group = group_store.find_group(tx, site.org, group_name)
        assert group is not None
        group_store.add_members(tx, site.org, group, [member_id])


def test_search_filters_and_pages(site: Site) -> None:
    """Text matches userName, names and emails case-insensitively; status and role filter;
    pages are stable and counted."""
    add_member(site.db, site.org, "ada@example.com", display_name="Ada Lovelace")
    add_member(site.db, site.org, "grace@example.com", role=OrgRole.ADMIN)
    gone = add_member(site.db, site.org, "linus@example.com")
    site.scim(
        "PATCH",
        f"/Users/{gone.id}",
        body={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
    )
    names = lambda page: [m["user_name"] for m in page["members"]]  # noqa: E731
    assert names(site.api.get("/members?q=LOVELACE")) == ["ada@example.com"]
    assert names(site.api.get("/members?q=%25")) == []
    assert names(site.api.get("/members?status=deactivated")) == ["linus@example.com"]
    assert names(site.api.get("/members?role=Admin")) == ["grace@example.com"]
    assert names(site.api.get("/members?role=Owner&status=active")) == ["owner@example.com"]
    first = site.api.get("/members?limit=2")
    second = site.api.get("/members?limit=2&offset=2")
    assert (first["total"], len(first["members"]), len(second["members"])) == (4, 2, 2)
    assert set(names(first)).isdisjoint(names(second))
    site.api.get("/members?status=gone", expect=400)
    site.api.get("/members?limit=0", expect=400)
    site.api.get("/members?limit=abc", expect=400)


def test_effective_access_with_reasons(site: Site) -> None:
    """A member's access lists each project's strongest role and every grant's reason."""
    project = site.api.post("/projects", {"name": "Checkout"})
    ada = add_member(site.db, site.org, "ada@example.com")
    _join(site, "Scimitar-Checkout-Read-Only", ada.id)
    roles = {r["name"]: r["id"] for r in site.api.get("/roles")["roles"]}
    assignment = site.api.post(
        f"/members/{ada.id}/assignments", {"project_id": project["id"], "role_id": roles["Admin"]}
    )
    assert assignment["description"] == "Checkout: Admin"
    detail = site.api.get(f"/members/{ada.id}")
    [access] = detail["access"]
    assert (access["project"], access["role"]) == ("Checkout", "Admin")
    vias = sorted((r["via"], r["role"], r["group_name"]) for r in access["reasons"])
    assert vias == [
        ("direct assignment", "Admin", None),
        ("role group", "Read-Only", "Scimitar-Checkout-Read-Only"),
    ]
    assert [g["display_name"] for g in detail["groups"]] == ["Scimitar-Checkout-Read-Only"]
    assert detail["assignments"] == [assignment]


def test_direct_assignments_are_checked(site: Site) -> None:
    """Duplicates are 409; another org's project, a foreign team and half a team grant 422."""
    project = site.api.post("/projects", {"name": "Checkout"})
    other = site.api.post("/projects", {"name": "Search"})
    team = site.api.post("/teams", {"project_id": other["id"], "name": "Core"})
    ada = add_member(site.db, site.org, "ada@example.com")
    roles = {r["name"]: r["id"] for r in site.api.get("/roles")["roles"]}
    path = f"/members/{ada.id}/assignments"
    grant = {"project_id": project["id"], "role_id": roles["Member"]}
    made = site.api.post(path, grant)
    site.api.post(path, grant, expect=409)
    site.api.post(
        path, {"project_id": project["id"], "team_id": team["id"], "team_role": "Admin"}, expect=422
    )
    site.api.post(path, {"project_id": other["id"], "team_id": team["id"]}, expect=422)
    site.api.post(
        path, {"project_id": other["id"], "team_id": team["id"], "team_role": "Boss"}, expect=422
    )
    site.api.post(path, {"project_id": project["id"]}, expect=422)
    site.api.post(path, {"project_id": "elsewhere", "role_id": roles["Member"]}, expect=422)
    team_grant = site.api.post(
        path, {"project_id": other["id"], "team_id": team["id"], "team_role": "Admin"}
    )
    assert team_grant["description"] == "Search: team Core (Admin)"
    site.api.delete(f"{path}/{made['id']}")
    site.api.delete(f"{path}/{made['id']}", expect=404)
    assert [a["id"] for a in site.api.get(f"/members/{ada.id}")["assignments"]] == [
        team_grant["id"]
    ]


def test_org_role_changes(site: Site) -> None:
    """Admin and Member can be set; Owner is never set by PATCH, and the Owner never demoted."""
    ada = add_member(site.db, site.org, "ada@example.com")
    assert site.api.patch(f"/members/{ada.id}", {"org_role": "Admin"})["org_role"] == "Admin"
    site.api.patch(f"/members/{ada.id}", {"org_role": "Owner"}, expect=422)
    site.api.patch(f"/members/{ada.id}", {"org_role": "King"}, expect=422)
    site.api.patch(f"/members/{site.owner.id}", {"org_role": "Member"}, expect=409)
    site.api.patch("/members/nobody", {"org_role": "Admin"}, expect=404)
    assert site.api.get(f"/members/{ada.id}")["org_role"] == "Admin"
    assert site.api.get(f"/members/{site.owner.id}")["org_role"] == "Owner"


def test_removal_makes_scim_answer_404(site: Site) -> None:
    """A removed member is gone over SCIM at once; the Owner cannot be removed."""
    created = site.scim(
        "POST",
        "/Users",
        body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "temp@example.com",
        },
    ).json()
    assert site.api.get(f"/members/{created['id']}")["source"] == "scim"
    site.api.delete(f"/members/{created['id']}")
    assert site.scim("GET", f"/Users/{created['id']}").status_code == 404
    site.api.get(f"/members/{created['id']}", expect=404)
    site.api.delete(f"/members/{site.owner.id}", expect=409)
    [entry] = site.api.get("/audit-log?action=member.removed")["entries"]
    assert entry["resource_id"] == created["id"] and entry["actor_kind"] == "api_token"


@pytest.mark.parametrize("query", ["?offset=²", "?limit=%D9%A3", "?offset=" + "9" * 40])
def test_member_listing_refuses_odd_numbers(site: Site, query: str) -> None:
    """limit and offset must be ASCII digits within range: else 400, never a 500."""
    body = site.api.get("/members" + query, expect=400)
    assert body["error"]["code"] == "bad_request"
