"""Projects, roles and teams over the admin API."""

from __future__ import annotations

from tests.faces.admin.helpers import Site


def test_project_create_rename_default_role_delete(site: Site) -> None:
    """A project gets role groups; renaming renames them; the default role is a role name."""
    project = site.api.post("/projects", {"name": "Checkout", "default_role": "Read-Only"})
    assert project["default_role"] == "Read-Only" and project["teams"] == []
    groups = site.api.get("/groups?kind=role&q=checkout")["groups"]
    assert len(groups) == 4
    renamed = site.api.patch(
        f"/projects/{project['id']}", {"name": "Payments", "default_role": "Admin"}
    )
    assert (renamed["name"], renamed["default_role"]) == ("Payments", "Admin")
    names = {g["display_name"] for g in site.api.get("/groups?kind=role")["groups"]}
    assert "Scimitar-Payments-Admin" in names and "Scimitar-Checkout-Admin" not in names
    assert site.api.get(f"/projects/{project['id']}") == renamed
    site.api.delete(f"/projects/{project['id']}")
    site.api.get(f"/projects/{project['id']}", expect=404)
    assert site.api.get("/groups")["total"] == 0


def test_bad_project_input_changes_nothing(site: Site) -> None:
    """Duplicate (any case), empty, overlong names and unknown roles are refused."""
    site.api.post("/projects", {"name": "Checkout"})
    site.api.post("/projects", {"name": "checkout"}, expect=409)
    site.api.post("/projects", {"name": ""}, expect=422)
    site.api.post("/projects", {"name": "x" * 101}, expect=422)
    site.api.post("/projects", {"name": "Fine", "default_role": "Nope"}, expect=422)
    site.api.post("/projects", {}, expect=400)
    [project] = site.api.get("/projects")["projects"]
    site.api.patch(f"/projects/{project['id']}", {"default_role": "Nope"}, expect=422)
    site.api.patch(f"/projects/{project['id']}", {"name": " padded "}, expect=422)
    other = site.api.post("/projects", {"name": "Search"})
    site.api.patch(f"/projects/{other['id']}", {"name": "CHECKOUT"}, expect=409)
    assert [p["name"] for p in site.api.get("/projects")["projects"]] == ["Checkout", "Search"]
    assert site.api.get("/groups")["total"] == 8


def test_custom_roles(site: Site) -> None:
    """Custom roles carry permissions, built-in ones their declared sets; built-in and in-use
    roles cannot be deleted."""
    role = site.api.post("/roles", {"name": "Flag Editor", "permissions": ["flags:write"]})
    assert role == {**role, "builtin": False, "permissions": ["flags:write"]}
    site.api.post("/roles", {"name": "flag editor"}, expect=409)
    site.api.post("/roles", {"name": "Bad", "permissions": "flags"}, expect=400)
    roles = {r["name"]: r for r in site.api.get("/roles")["roles"]}
    assert list(roles) == ["Owner", "Admin", "Member", "Read-Only", "Flag Editor"]
    assert roles["Read-Only"]["permissions"] == ["project.read"]
    assert roles["Member"]["permissions"] == ["project.read", "project.write"]
    site.api.delete(f"/roles/{roles['Admin']['id']}", expect=409)
    project = site.api.post("/projects", {"name": "Checkout", "default_role": "Flag Editor"})
    site.api.delete(f"/roles/{role['id']}", expect=409)
    site.api.patch(f"/projects/{project['id']}", {"default_role": "Member"})
    site.api.delete(f"/roles/{role['id']}")
    assert "Flag Editor" not in {r["name"] for r in site.api.get("/roles")["roles"]}
    site.api.delete(f"/roles/{role['id']}", expect=404)


def test_teams(site: Site) -> None:
    """A team lives in one project with two team groups; deleting it removes them."""
    checkout = site.api.post("/projects", {"name": "Checkout"})
    search = site.api.post("/projects", {"name": "Search"})
    team = site.api.post("/teams", {"project_id": checkout["id"], "name": "Payments"})
    site.api.post("/teams", {"project_id": checkout["id"], "name": "payments"}, expect=409)
    site.api.post("/teams", {"project_id": "nope", "name": "X"}, expect=422)
    site.api.post("/teams", {"project_id": checkout["id"], "name": ""}, expect=422)
    site.api.post("/teams", {"project_id": search["id"], "name": "Payments"})
    assert [t["name"] for t in site.api.get(f"/teams?project_id={checkout['id']}")["teams"]] == [
        "Payments"
    ]
    assert len(site.api.get("/teams")["teams"]) == 2
    assert site.api.get(f"/projects/{checkout['id']}")["teams"] == [team]
    assert site.api.get("/groups?kind=team")["total"] == 4
    site.api.delete(f"/teams/{team['id']}")
    assert site.api.get("/groups?kind=team")["total"] == 2
    site.api.get("/teams?project_id=unknown", expect=404)
