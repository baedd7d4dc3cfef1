"""/Groups over HTTP: the three kinds, membership deltas, Entra and Okta shapes."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations, structure
from scimitar.domain.events import feed
from tests.faces.scim.harness import Scim
from tests.faces.scim.test_users import create
from tests.faces.scim.test_wire import assert_error

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def with_project(scim: Scim, name: str = "Checkout", team: str | None = None) -> None:
    with scim.db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        project = structure.create_project(tx, scim.org, name)
        if team:
            structure.create_team(tx, scim.org, project, team)


def group_by_name(scim: Scim, name: str) -> dict[str, Any]:
    found = scim.request("GET", f'/Groups?filter=displayName eq "{name}"').json()
    assert found["totalResults"] == 1, found
    return found["Resources"][0]  # type: ignore[no-any-return]


def test_role_groups_are_listed_but_not_creatable_renamable_or_deletable(scim: Scim) -> None:
    """Role groups: importable; POST, rename and DELETE get errors that say why."""
    with_project(scim)
    listed = scim.request("GET", "/Groups?count=100").json()
    assert listed["totalResults"] == 4
    admin = group_by_name(scim, "scimitar-checkout-admin")
    assert admin["displayName"] == "Scimitar-Checkout-Admin"
    body = assert_error(
        scim.request("POST", "/Groups", {"displayName": "Scimitar-Billing-Admin"}),
        400,
        "mutability",
    )
    assert "Project creation is not supported via SCIM" in str(body["detail"])
    assert_error(
        scim.request("POST", "/Groups", {"displayName": "Scimitar-Checkout-Admin"}),
        409,
        "uniqueness",
    )
    rename = ops({"op": "replace", "path": "displayName", "value": "Other"})
    body = assert_error(scim.request("PATCH", f"/Groups/{admin['id']}", rename), 400, "mutability")
    assert "Renaming this group is not supported via SCIM" in str(body["detail"])
    body = assert_error(scim.request("DELETE", f"/Groups/{admin['id']}"), 400, "mutability")
    assert "Project deletion is not supported via SCIM" in str(body["detail"])


def test_okta_rename_to_same_name_always_succeeds(scim: Scim) -> None:
    """Okta's pathless replace {id, displayName} with the unchanged name → 204 on any kind."""
    with_project(scim)
    admin = group_by_name(scim, "Scimitar-Checkout-Admin")
    same = ops(
        {"op": "replace", "value": {"id": admin["id"], "displayName": "Scimitar-Checkout-Admin"}}
    )
    assert scim.request("PATCH", f"/Groups/{admin['id']}", same).status_code == 204


def test_team_group_post_creates_the_team(scim: Scim) -> None:
    """POST of `<prefix>-<Project>-<Team>-Admin` for an existing project creates both groups."""
    with_project(scim, "Check Out")
    response = scim.request(
        "POST", "/Groups", {"displayName": "Scimitar-Check Out-Web-Front-Admin", "members": []}
    )
    assert response.status_code == 201, response.text
    assert response.json()["displayName"] == "Scimitar-Check Out-Web-Front-Admin"
    member_group = group_by_name(scim, "Scimitar-Check Out-Web-Front-Member")
    assert scim.request("DELETE", f"/Groups/{member_group['id']}").status_code == 204
    gone = scim.request("GET", '/Groups?filter=displayName co "Web-Front"').json()
    assert gone["totalResults"] == 0


def test_ambiguous_and_unknown_project_names(scim: Scim) -> None:
    """A name readable as two projects, or as none, is a 400 that explains."""
    with_project(scim, "A")
    with_project(scim, "A-B")
    body = assert_error(
        scim.request("POST", "/Groups", {"displayName": "Scimitar-A-B-C-Member"}),
        400,
        "invalidValue",
    )
    assert "ambiguous" in str(body["detail"])
    body = assert_error(
        scim.request("POST", "/Groups", {"displayName": "Scimitar-Zed-T-Member"}), 400, "mutability"
    )
    assert "Project creation is not supported via SCIM: no project matches 'Zed-T'" in str(
        body["detail"]
    )


def test_custom_groups_and_policy(scim: Scim) -> None:
    """Custom groups are plain groups; with custom_groups=reject they are refused."""
    created = scim.request(
        "POST", "/Groups", {"displayName": "Engineering", "externalId": "ext-1"}
    ).json()
    rename = ops({"op": "Replace", "path": "displayName", "value": "Eng"})
    assert scim.request("PATCH", f"/Groups/{created['id']}", rename).status_code == 204
    assert scim.request("GET", f"/Groups/{created['id']}").json()["displayName"] == "Eng"
    with scim.db.write() as conn:
        organizations.update_settings(Tx(conn, CLI_ACTOR), scim.org, custom_groups="reject")
    body = assert_error(
        scim.request("POST", "/Groups", {"displayName": "Design"}), 400, "mutability"
    )
    assert "Custom groups are disabled" in str(body["detail"])


def test_membership_deltas_every_shape(scim: Scim) -> None:
    """add, Entra value-array remove, filter remove, replace, bare clear; add+remove nets out."""
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()
    a, b, c = (create(scim, f"{n}@example.com")["id"] for n in "abc")
    path = f"/Groups/{group['id']}"

    def members() -> set[str]:
        body = scim.request("GET", path).json()
        return {m["value"] for m in body.get("members", [])}

    assert (
        scim.request(
            "PATCH",
            path,
            ops(
                {
                    "op": "Add",
                    "path": "members",
                    "value": [{"$ref": None, "value": a}, {"value": b}],
                }
            ),
        ).status_code
        == 204
    )
    assert members() == {a, b}
    scim.request("PATCH", path, ops({"op": "Remove", "path": "members", "value": [{"value": a}]}))
    assert members() == {b}
    scim.request(
        "PATCH",
        path,
        ops(
            {"op": "remove", "path": f'members[value eq "{b}"]'},
            {"op": "add", "path": "members", "value": [{"value": c, "display": "c"}]},
        ),
    )
    assert members() == {c}
    scim.request(
        "PATCH",
        path,
        ops(
            {"op": "add", "path": "members", "value": [{"value": a}]},
            {"op": "remove", "path": f'members[value eq "{a}"]'},
        ),
    )
    assert members() == {c}
    scim.request(
        "PATCH",
        path,
        ops({"op": "replace", "path": "members", "value": [{"value": a}, {"value": b}]}),
    )
    assert members() == {a, b}
    scim.request("PATCH", path, ops({"op": "remove", "path": "members"}))
    assert members() == set()


def test_unknown_or_deactivated_member_fails_whole_request(scim: Scim) -> None:
    """An unknown or deactivated member id → 400 naming it, and nothing of the request applied."""
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()
    a = create(scim, "a@example.com")["id"]
    body = ops(
        {"op": "add", "path": "members", "value": [{"value": a}]},
        {"op": "add", "path": "members", "value": [{"value": "nope"}]},
    )
    error = assert_error(scim.request("PATCH", f"/Groups/{group['id']}", body), 400, "invalidValue")
    assert "nope" in str(error["detail"])
    assert "members" not in scim.request("GET", f"/Groups/{group['id']}").json()
    deact = ops({"op": "replace", "path": "active", "value": False})
    scim.request("PATCH", f"/Users/{a}", deact)
    assert_error(
        scim.request(
            "PATCH",
            f"/Groups/{group['id']}",
            ops({"op": "add", "path": "members", "value": [{"value": a}]}),
        ),
        400,
        "invalidValue",
    )


def test_excluded_members_and_user_groups(scim: Scim) -> None:
    """excludedAttributes=members omits members; a User's `groups` is computed."""
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()
    a = create(scim, "a@example.com")["id"]
    scim.request(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "add", "path": "members", "value": [{"value": a}]}),
    )
    by_id = scim.request("GET", f"/Groups/{group['id']}?excludedAttributes=members").json()
    assert "members" not in by_id and by_id["displayName"] == "Ops"
    listed = scim.request(
        "GET", '/Groups?excludedAttributes=members&filter=displayName eq "OPS"'
    ).json()
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    user = scim.request("GET", f"/Users/{a}").json()
    assert [g["value"] for g in user["groups"]] == [group["id"]]
    assert user["groups"][0]["display"] == "Ops"


def test_deactivation_drops_group_memberships(scim: Scim) -> None:
    """Deactivating a user removes them from every group in the same transaction."""
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()
    a = create(scim, "a@example.com")["id"]
    scim.request(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "add", "path": "members", "value": [{"value": a}]}),
    )
    scim.request("PATCH", f"/Users/{a}", ops({"op": "replace", "value": {"active": False}}))
    assert "members" not in scim.request("GET", f"/Groups/{group['id']}").json()


def test_okta_deactivation_reports_each_group_left(scim: Scim) -> None:
    """Okta's deactivation (PATCH `active: false`, no path) of a member of two groups: one
    `group.member_removed` per group, in the groups' order, each naming the group (id,
    name, kind) and the member, as the feed's consumers keep their copy of memberships."""
    with_project(scim)
    ops_group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()
    role_group = group_by_name(scim, "Scimitar-Checkout-Member")
    a = create(scim, "a@example.com")["id"]
    for group in (ops_group, role_group):
        scim.request(
            "PATCH",
            f"/Groups/{group['id']}",
            ops({"op": "add", "path": "members", "value": [{"value": a}]}),
        )
    with scim.db.read() as conn:
        start = feed.last_seq(Tx(conn, CLI_ACTOR), scim.org.id)
    okta = ops({"op": "replace", "value": {"active": False}})
    assert scim.request("PATCH", f"/Users/{a}", okta).status_code == 200
    with scim.db.read() as conn:
        found = feed.read_feed(Tx(conn, CLI_ACTOR), scim.org.id, after=start, limit=100)
    removed = [e for e in found if e.type == "group.member_removed"]
    # The role group came with the project, before Ops.
    assert [(e.resource_type, e.resource_id, e.member_id) for e in removed] == [
        ("group", role_group["id"], a),
        ("group", ops_group["id"], a),
    ]
    kinds = {ops_group["id"]: "custom", role_group["id"]: "role"}
    for event in removed:
        group_id = event.data["group"]["id"]
        name = "Ops" if group_id == ops_group["id"] else "Scimitar-Checkout-Member"
        assert event.data == {
            "group": {"id": group_id, "displayName": name, "kind": kinds[group_id]},
            "member_id": a,
        }
        assert event.resource_version is None and event.changed is None
        assert event.actor["kind"] == "scim_key"


def test_patch_answers_200_when_attributes_asked(scim: Scim) -> None:
    """Group PATCH is 204 unless the client asks for attributes."""
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()
    response = scim.request(
        "PATCH",
        f"/Groups/{group['id']}?attributes=displayName",
        ops({"op": "replace", "path": "displayName", "value": "Ops2"}),
    )
    assert response.status_code == 200 and response.json()["displayName"] == "Ops2"


def test_duplicate_group_name_409_then_adopt(scim: Scim) -> None:
    """authentik: 409 on create, then GET by displayName adopts the group."""
    scim.request("POST", "/Groups", {"displayName": "Design"})
    assert_error(scim.request("POST", "/Groups", {"displayName": "design"}), 409, "uniqueness")
    assert group_by_name(scim, "DESIGN")["displayName"] == "Design"


def test_custom_group_cannot_take_a_managed_name(scim: Scim) -> None:
    """A custom group renamed to what reads as a role or team group of an existing project
    would pass for it (and take the name the real group needs): 400, nothing changed.
    Other names, prefixed or not, are fine."""
    with_project(scim, "Checkout")
    custom = scim.request("POST", "/Groups", {"displayName": "Designers"}).json()
    for taken, reads_as in [
        ("Scimitar-Checkout-Web-Admin", "team 'Web' of project 'Checkout'"),
        ("scimitar-checkout-web-member", "team 'web' of project 'Checkout'"),
        ("Scimitar-Billing-Read-Only", "'Read-Only' role group of a project 'Billing'"),
        ("Scimitar-Future-Member", "'Member' role group of a project 'Future'"),
    ]:
        rename = ops({"op": "replace", "path": "displayName", "value": taken})
        response = scim.request("PATCH", f"/Groups/{custom['id']}", rename)
        assert reads_as in str(assert_error(response, 400, "invalidValue")["detail"]), taken
        put = scim.request("PUT", f"/Groups/{custom['id']}", {"displayName": taken})
        assert_error(put, 400, "invalidValue")
    assert group_by_name(scim, "Designers")["id"] == custom["id"]
    taken = ops({"op": "replace", "path": "displayName", "value": "scimitar-checkout-admin"})
    assert_error(scim.request("PATCH", f"/Groups/{custom['id']}", taken), 409, "uniqueness")
    for fine in ("Scimitar-Designers", "Scimitar-Checkout-Web", "Checkout-Web-Admin"):
        rename = ops({"op": "replace", "path": "displayName", "value": fine})
        assert scim.request("PATCH", f"/Groups/{custom['id']}", rename).status_code == 204, fine
