"""POST /access/check: the host's access decisions, in order, in a bounded number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, update

from scimitar.domain.models import Org
from scimitar.storage.prepared import Prepared
from scimitar.storage.tables import org_structure, projects
from tests.faces.admin.helpers import Api, Site, add_member, api_token, csrf_of, sign_in

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _check(site: Site, *checks: dict[str, str], api: Api | None = None) -> list[dict[str, Any]]:
    answer = (api or site.api).post("/access/check", {"checks": list(checks)}, expect=200)
    results: list[dict[str, Any]] = answer["results"]
    return results


def _group_id(site: Site, name: str) -> str:
    [group] = [g for g in site.api.get(f"/groups?q={name}")["groups"] if g["display_name"] == name]
    return str(group["id"])


def _join(site: Site, group_id: str, member_id: str, key: str | None = None) -> None:
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": member_id}]}],
    }
    answer = site.scim("PATCH", f"/Groups/{group_id}", key, body)
    assert answer.status_code in (200, 204), answer.text


def _roles(site: Site) -> dict[str, str]:
    return {r["name"]: r["id"] for r in site.api.get("/roles")["roles"]}


def test_role_hierarchy(site: Site) -> None:
    """A role check passes for that built-in role or a weaker one, by id or userName."""
    project = site.api.post("/projects", {"name": "Checkout"})
    ada = add_member(site.db, site.org, "ada@example.com")
    _join(site, _group_id(site, "Scimitar-Checkout-Admin"), ada.id)
    results = _check(
        site,
        *(
            {"member": "ADA@example.com", "project": "checkout", "role": role}
            for role in ("Read-Only", "Member", "admin", "Owner")
        ),
        {"member": ada.id, "project": project["id"], "role": "Admin"},
    )
    assert [r["allowed"] for r in results] == [True, True, True, False, True]
    assert {r["role"] for r in results} == {"Admin"}
    assert results[0]["reasons"] == ["Admin in 'Checkout' via role group 'Scimitar-Checkout-Admin'"]
    assert results[3]["reasons"][0] == (
        "ada@example.com holds Admin in project 'Checkout', weaker than Owner"
    )
    assert results[0]["permissions"] == sorted(
        next(r for r in site.api.get("/roles")["roles"] if r["name"] == "Admin")["permissions"]
    )


def test_one_member_by_id_by_user_name_and_by_an_id_shaped_user_name(site: Site) -> None:
    """A call naming one member (its own statements: by name alone, or by id and name when
    the key can be an id) finds them by id, by userName in any case, and by a userName that
    has the shape of an id; an id wins over another member's id-shaped userName."""
    site.api.post("/projects", {"name": "Checkout"})
    ada = add_member(site.db, site.org, "ada@example.com")
    shaped = add_member(site.db, site.org, "0f8fad5b-d9cb-469f-a165-70867728950e")
    impostor = add_member(site.db, site.org, ada.id)  # a userName equal to ada's id
    _join(site, _group_id(site, "Scimitar-Checkout-Admin"), ada.id)
    _join(site, _group_id(site, "Scimitar-Checkout-Read-Only"), shaped.id)
    _join(site, _group_id(site, "Scimitar-Checkout-Owner"), impostor.id)
    one = {"project": "Checkout", "role": "Read-Only"}
    for key, role in (
        (ada.id, "Admin"),
        ("ADA@example.com", "Admin"),
        ("0F8FAD5B-D9CB-469F-A165-70867728950E", "Read-Only"),  # not an id: by name
        (shaped.user_name, "Read-Only"),
        (shaped.id, "Read-Only"),
        (impostor.id, "Owner"),
    ):
        [result] = _check(site, {"member": key, **one})
        assert (result["allowed"], result["role"]) == (True, role), key
    [nobody] = _check(site, {"member": "7c9e6679-7425-40de-944b-e07fc1f90ae7", **one})
    assert nobody["reasons"] == [
        "No member '7c9e6679-7425-40de-944b-e07fc1f90ae7' in this organization"
    ]


def test_permission_checks(site: Site) -> None:
    """A permission check passes when a held role carries it; an unknown one is refused."""
    site.api.post("/projects", {"name": "Checkout"})
    ada = add_member(site.db, site.org, "ada@example.com")
    _join(site, _group_id(site, "Scimitar-Checkout-Member"), ada.id)
    ask = {"member": "ada@example.com", "project": "Checkout"}
    wrote, deleted, unknown = _check(
        site,
        {**ask, "permission": "project.write"},
        {**ask, "permission": "project.delete"},
        {**ask, "permission": "flags:write"},
    )
    assert wrote["allowed"] and wrote["permissions"] == ["project.read", "project.write"]
    assert not deleted["allowed"]
    assert deleted["reasons"][0] == (
        "ada@example.com does not hold permission 'project.delete' in project 'Checkout'"
    )
    assert not unknown["allowed"]
    assert unknown["reasons"][0] == "No role in this organization carries permission 'flags:write'"


def _bob_in_finance(site: Site) -> tuple[str, str]:
    """Bob, in the custom group Finance (which grants nothing yet): their ids."""
    bob = add_member(site.db, site.org, "bob@example.com")
    group = site.scim(
        "POST",
        "/Groups",
        body={"schemas": [GROUP], "displayName": "Finance", "members": [{"value": bob.id}]},
    ).json()
    return bob.id, str(group["id"])


def test_custom_roles_on_custom_groups(site: Site) -> None:
    """A custom group's grant of a custom role: that role and its permissions pass, built-in
    role checks do not."""
    project = site.api.post("/projects", {"name": "Checkout"})
    billing = site.api.post("/roles", {"name": "Billing", "permissions": ["billing.read"]})
    _bob, group = _bob_in_finance(site)
    site.api.post(
        f"/groups/{group}/grants", {"project_id": project["id"], "role_id": billing["id"]}
    )
    ask = {"member": "bob@example.com", "project": "Checkout"}
    custom, perm, builtin, other = _check(
        site,
        {**ask, "role": "billing"},
        {**ask, "permission": "billing.read"},
        {**ask, "role": "Read-Only"},
        {**ask, "role": "Nope"},
    )
    assert custom["allowed"] and perm["allowed"]
    assert custom["role"] is None and custom["permissions"] == ["billing.read"]
    assert custom["reasons"] == ["Billing in 'Checkout' via custom group 'Finance'"]
    assert not builtin["allowed"]
    assert builtin["reasons"][0] == "bob@example.com holds no built-in role in project 'Checkout'"
    assert other["reasons"] == ["No role named 'Nope' in this organization", *custom["reasons"]]


def test_team_membership_gives_the_default_role(site: Site) -> None:
    """A team membership alone gives the project's default role."""
    project = site.api.post("/projects", {"name": "Checkout", "default_role": "Read-Only"})
    site.api.post("/teams", {"project_id": project["id"], "name": "Web"})
    carol = add_member(site.db, site.org, "carol@example.com")
    _join(site, _group_id(site, "Scimitar-Checkout-Web-Member"), carol.id)
    ask = {"member": carol.id, "project": "Checkout"}
    reader, member = _check(site, {**ask, "role": "Read-Only"}, {**ask, "role": "Member"})
    assert reader["allowed"] and reader["role"] == "Read-Only"
    assert reader["reasons"] == [
        "the project's default role (team 'Web', Member) in 'Checkout' via team group "
        "'Scimitar-Checkout-Web-Member'"
    ]
    assert not member["allowed"]


def test_direct_assignment(site: Site) -> None:
    """A console assignment counts like any grant; other projects stay closed."""
    search = site.api.post("/projects", {"name": "Search"})
    site.api.post("/projects", {"name": "Checkout"})
    dave = add_member(site.db, site.org, "dave@example.com")
    site.api.post(
        f"/members/{dave.id}/assignments",
        {"project_id": search["id"], "role_id": _roles(site)["Member"]},
    )
    here, elsewhere = _check(
        site,
        {"member": dave.id, "project": "Search", "role": "Member"},
        {"member": dave.id, "project": "Checkout", "permission": "project.read"},
    )
    assert here["allowed"] and here["reasons"] == ["Member in 'Search' via direct assignment"]
    assert not elsewhere["allowed"] and elsewhere["role"] is None
    assert elsewhere["reasons"] == [
        "dave@example.com does not hold permission 'project.read' in project 'Checkout'"
    ]


def test_inactive_and_unknown_are_refusals(site: Site) -> None:
    """Unknown or deactivated member, unknown project: allowed false with a reason."""
    site.api.post("/projects", {"name": "Checkout"})
    eve = add_member(site.db, site.org, "eve@example.com")
    _join(site, _group_id(site, "Scimitar-Checkout-Owner"), eve.id)
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert site.scim("PATCH", f"/Users/{eve.id}", body=body).status_code == 200
    results = _check(
        site,
        {"member": "eve@example.com", "project": "Checkout", "role": "Read-Only"},
        {"member": "nobody@example.com", "project": "Checkout", "role": "Read-Only"},
        {"member": "owner@example.com", "project": "Nowhere", "role": "Read-Only"},
    )
    assert [r["allowed"] for r in results] == [False, False, False]
    assert [r["reasons"] for r in results] == [
        ["Member 'eve@example.com' is deactivated"],
        ["No member 'nobody@example.com' in this organization"],
        ["No project 'Nowhere' in this organization"],
    ]


def test_another_orgs_members_and_projects_are_never_visible(site: Site) -> None:
    """Globex's member and project, by id or name, are unknown to acme's token, even when
    they hold the role in globex."""
    other = api_token(site.db, site.other)
    other_api = Api(site.client, {"Authorization": f"Bearer {other}"})
    project = other_api.post("/projects", {"name": "Rockets"})
    gus = add_member(site.db, site.other, "gus@example.com")
    groups = other_api.get("/groups?q=Rockets-Owner")["groups"]
    _join(site, groups[0]["id"], gus.id, site.other_scim_key)
    site.api.post("/projects", {"name": "Checkout"})
    asks = [
        {"member": gus.id, "project": "Checkout", "role": "Read-Only"},
        {"member": "gus@example.com", "project": "Checkout", "role": "Read-Only"},
        {"member": "owner@example.com", "project": project["id"], "role": "Read-Only"},
        {"member": "owner@example.com", "project": "Rockets", "role": "Read-Only"},
    ]
    assert not any(r["allowed"] for r in _check(site, *asks))
    check = {"member": gus.id, "project": project["id"], "role": "Owner"}
    assert _check(site, check, api=other_api)[0]["allowed"]


def test_a_console_session_may_check(site: Site) -> None:
    """A signed-in Owner checks with the session cookie and the CSRF header."""
    site.api.post("/projects", {"name": "Checkout"})
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    session_api = Api(site.client, {"X-CSRF-Token": csrf_of(site.client)})
    check = {"member": "owner@example.com", "project": "Checkout", "role": "Read-Only"}
    [result] = _check(site, check, api=session_api)
    assert result["allowed"] is False
    Api(site.client).post("/access/check", {"checks": [check]}, expect=403)


def test_bad_requests_are_refused(site: Site) -> None:
    """None or more than 1 000 checks, both or neither of role and permission, NUL: 422;
    a body of the wrong shape: 400."""
    check = {"member": "owner@example.com", "project": "x", "role": "Member"}
    site.api.post("/access/check", {"checks": []}, expect=422)
    site.api.post("/access/check", {"checks": [check] * 1001}, expect=422)
    site.api.post("/access/check", {"checks": [{**check, "permission": "a"}]}, expect=422)
    site.api.post("/access/check", {"checks": [{"member": "a", "project": "b"}]}, expect=422)
    site.api.post("/access/check", {"checks": [{**check, "member": "a\x00"}]}, expect=422)
    site.api.post("/access/check", {"checks": [{**check, "member": "a" * 2049}]}, expect=422)
    # Among good checks, the first bad one is named by its place.
    for bad, says in (
        ({**check, "project": "x\x00"}, "without NUL"),
        ({**check, "permission": "project.read"}, "either a role or a permission"),
    ):
        answer = site.api.post("/access/check", {"checks": [check] * 7 + [bad] * 2}, expect=422)
        assert answer["error"]["detail"].startswith("Check 7: ")
        assert says in answer["error"]["detail"]
    site.api.post("/access/check", {"checks": check}, expect=400)
    site.api.post("/access/check", {"checks": [{**check, "who": "x"}]}, expect=400)
    site.api.post("/access/check", {"checks": [{**check, "role": 3}]}, expect=400)
    site.api.post("/access/check", {"checks": [{"project": "x", "role": "Member"}]}, expect=400)
    site.api.post("/access/check", {"checks": [check], "more": 1}, expect=400)


@contextmanager
def _statements(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement run while inside: through SQLAlchemy (the engine's hook) and as a
    prepared statement straight on the driver (`Prepared.all`, `Prepared.later`)."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    run_all, run_tuples, run_later = Prepared.all, Prepared.tuples, Prepared.later

    def counted_all(self: Prepared, db: Any, values: Any = None) -> list[Any]:
        seen.append(f"prepared {type(self.statement).__name__}")
        return run_all(self, db, values)

    def counted_tuples(self: Prepared, db: Any, values: Any = None) -> list[Any]:
        seen.append(f"prepared {type(self.statement).__name__}")
        return run_tuples(self, db, values)

    def counted_later(self: Prepared, db: Any, values: Any = None) -> Any:
        seen.append(f"sent {type(self.statement).__name__}")
        return run_later(self, db, values)

    event.listen(site.db.engine, "before_cursor_execute", count)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(Prepared, "all", counted_all)
            patch.setattr(Prepared, "tuples", counted_tuples)
            patch.setattr(Prepared, "later", counted_later)
            yield seen
    finally:
        event.remove(site.db.engine, "before_cursor_execute", count)


def _people(site: Site, org: Org, count: int) -> list[str]:
    return [add_member(site.db, org, f"p{i}@example.com").id for i in range(count)]


def test_a_thousand_checks_in_order_with_the_same_number_of_queries(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1, 10 and 1 000 checks cost a bounded number of SQL statements, the same for each
    size once the org's structure is known (`access.catalog`); answers keep the request's
    order."""
    projects = [site.api.post("/projects", {"name": f"P{i}"})["id"] for i in range(3)]
    people = _people(site, site.org, 20)
    for index, person in enumerate(people[:10]):
        _join(site, _group_id(site, f"Scimitar-P{index % 3}-Member"), person)
    checks = [
        {
            "member": people[i % 20] if i % 2 else f"p{i % 20}@EXAMPLE.com",
            "project": projects[i % 3] if i % 5 else f"p{i % 3}",
            **({"role": "Member"} if i % 4 else {"permission": "project.write"}),
        }
        for i in range(1000)
    ]
    checks[500] = {"member": "nobody@example.com", "project": "P0", "role": "Member"}
    _check(site, checks[0])  # the token's last_used is written once, on first use
    first, again = [], []
    for counts in (first, again):
        for size in (1, 10, 1000):
            with _statements(site, monkeypatch) as seen:
                results = _check(site, *checks[:size])
            counts.append(len(seen))
            assert len(results) == size
    expected = [i != 500 and i % 20 < 10 and (i % 20) % 3 == i % 3 for i in range(len(checks))]
    assert [r["allowed"] for r in results] == expected
    assert results[500]["reasons"] == ["No member 'nobody@example.com' in this organization"]
    # At most: the token (with the org and its structure's version), the roles, the
    # projects named and their groups (these three only while not known at this version),
    # the members with their memberships and direct assignments.
    assert max(first) <= 5, first
    # Known structure: the token, the members (SQLite reads of a few checks run on a kept
    # connection, which remembers the token until the next commit).
    assert again[0] == again[1] <= 2 and again[2] == 2, again


# What decisions keep of an org's structure (`access.catalog`) never outlives a change.


def _admin_of_checkout(site: Site) -> tuple[dict[str, Any], str]:
    project = site.api.post("/projects", {"name": "Checkout"})
    ada = add_member(site.db, site.org, "ada@example.com")
    _join(site, _group_id(site, "Scimitar-Checkout-Admin"), ada.id)
    [answer] = _check(site, {"member": ada.id, "project": "Checkout", "role": "Admin"})
    assert answer["allowed"]
    return project, ada.id


def _grant_member(site: Site, group_id: str, project_id: str) -> str:
    role = _roles(site)["Member"]
    grant = site.api.post(f"/groups/{group_id}/grants", {"project_id": project_id, "role_id": role})
    return str(grant["id"])


def test_a_project_renamed_or_deleted_is_seen_at_once(site: Site) -> None:
    project, ada = _admin_of_checkout(site)
    site.api.patch(f"/projects/{project['id']}", {"name": "Till"})
    old, new = _check(
        site,
        {"member": ada, "project": "Checkout", "role": "Admin"},
        {"member": ada, "project": "Till", "role": "Admin"},
    )
    assert old["reasons"] == ["No project 'Checkout' in this organization"]
    assert new["allowed"] and new["reasons"] == [
        "Admin in 'Till' via role group 'Scimitar-Till-Admin'"
    ]
    site.api.delete(f"/projects/{project['id']}")
    [gone] = _check(site, {"member": ada, "project": project["id"], "role": "Read-Only"})
    assert gone["reasons"] == [f"No project {project['id']!r} in this organization"]


def test_a_grant_attached_or_removed_and_a_default_role_changed_are_seen_at_once(
    site: Site,
) -> None:
    project, _ada = _admin_of_checkout(site)
    bob, group = _bob_in_finance(site)
    ask = {"member": bob, "project": "Checkout", "role": "Member"}
    assert not _check(site, ask)[0]["allowed"]
    grant = _grant_member(site, group, project["id"])
    assert _check(site, ask)[0]["reasons"] == ["Member in 'Checkout' via custom group 'Finance'"]
    site.api.delete(f"/groups/{group}/grants/{grant}")
    assert not _check(site, ask)[0]["allowed"]
    # A team membership gives the project's default role: a new default counts at once.
    team = site.api.post("/teams", {"project_id": project["id"], "name": "Web"})
    _join(site, _group_id(site, "Scimitar-Checkout-Web-Member"), bob)
    assert _check(site, ask)[0]["allowed"]  # Member: the default
    site.api.patch(f"/projects/{project['id']}", {"default_role": "Read-Only"})
    [now] = _check(site, ask)
    assert not now["allowed"] and now["role"] == "Read-Only"
    assert team["id"]


def test_a_custom_group_renamed_by_the_idp_is_seen_at_once(site: Site) -> None:
    project, _ada = _admin_of_checkout(site)
    bob, group = _bob_in_finance(site)
    _grant_member(site, group, project["id"])
    ask = {"member": bob, "project": "Checkout", "role": "Member"}
    assert _check(site, ask)[0]["reasons"] == ["Member in 'Checkout' via custom group 'Finance'"]
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Money"}],
    }
    assert site.scim("PATCH", f"/Groups/{group}", body=body).status_code in (200, 204)
    assert _check(site, ask)[0]["reasons"] == ["Member in 'Checkout' via custom group 'Money'"]


def test_a_change_made_outside_scimitar_is_seen_at_once(site: Site) -> None:
    """The structure's version is moved by the database (triggers), so a change no Scimitar
    code made (another process, an operator's SQL) is seen by the next decision too."""
    _project, ada = _admin_of_checkout(site)
    with site.db.write() as conn:
        conn.execute(update(projects).where(projects.c.org_id == site.org.id).values(name="Till"))
    [answer] = _check(site, {"member": ada, "project": "Checkout", "role": "Admin"})
    assert answer["reasons"][0].startswith("Admin in 'Till'")


def test_memberships_do_not_move_the_structure_version(site: Site) -> None:
    """Provisioning (members joining and leaving groups, group bookkeeping) keeps what was
    read of the structure: only designing access moves the version."""
    _admin_of_checkout(site)

    def version() -> int:
        with site.db.read() as conn:
            found = conn.execute(
                select(org_structure.c.version).where(org_structure.c.org_id == site.org.id)
            ).scalar_one()
        return int(found)

    before = version()
    bob = add_member(site.db, site.org, "bob@example.com")
    _join(site, _group_id(site, "Scimitar-Checkout-Member"), bob.id)
    assert version() == before
    site.api.post("/projects", {"name": "Search"})
    assert version() > before
