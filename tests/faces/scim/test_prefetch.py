"""Reads (and a group's lock) sent with the key's statement on PostgreSQL answer exactly as
the reads made after the key check: for the key's org only, and only for a good key."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from tests.faces.scim.harness import Scim, make_org
from tests.faces.scim.test_users import create
from tests.faces.scim.test_wire import assert_error

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _add(member_id: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": member_id}]}],
    }


def _member_ids(scim: Scim, group_id: str) -> list[str]:
    group = scim.request("GET", f"/Groups/{group_id}").json()
    return [m["value"] for m in group.get("members", [])]


def test_another_orgs_key_reads_and_locks_nothing_of_this_org(scim: Scim) -> None:
    """With another org's key, GET, lookup and a group PATCH find nothing and change nothing."""
    _, other_key = make_org(scim.db, "globex")
    other = {"Authorization": f"Bearer {other_key}", "Content-Type": "application/scim+json"}
    user = create(scim, "mine@example.com")["id"]
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()["id"]
    assert scim.client.get(f"/scim/Users/{user}", headers=other).status_code == 404
    found = scim.client.get('/scim/Users?filter=userName eq "mine@example.com"', headers=other)
    assert found.json()["totalResults"] == 0
    patched = scim.client.patch(f"/scim/Groups/{group}", json=_add(user), headers=other)
    assert_error(patched, 404)
    assert _member_ids(scim, group) == []


def test_a_deactivated_key_reads_and_changes_nothing(scim: Scim) -> None:
    """A deactivated key gets 401 for a GET and for a group PATCH, which changes nothing."""
    user = create(scim, "mine@example.com")["id"]
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()["id"]
    with scim.db.write() as conn:
        key = keys.regenerate_scim_key(Tx(conn, CLI_ACTOR), scim.org)
    stale = scim.key
    scim.key = key
    headers = {"Authorization": f"Bearer {stale}", "Content-Type": "application/scim+json"}
    assert_error(scim.client.get(f"/scim/Users/{user}", headers=headers), 401)
    assert_error(scim.client.patch(f"/scim/Groups/{group}", json=_add(user), headers=headers), 401)
    assert _member_ids(scim, group) == []
    assert scim.request("PATCH", f"/Groups/{group}", _add(user)).status_code == 204
    assert _member_ids(scim, group) == [user]


def test_a_users_groups_read_ahead_are_its_groups(scim: Scim) -> None:
    """GET, lookup, PUT and PATCH render the user's groups as they are after the request."""
    user = create(scim, "mine@example.com")
    group = scim.request("POST", "/Groups", {"displayName": "Ops"}).json()["id"]
    assert scim.request("PATCH", f"/Groups/{group}", _add(user["id"])).status_code == 204
    path = f"/Users/{user['id']}"

    def groups(body: dict[str, Any]) -> list[str]:
        return [g["value"] for g in body.get("groups", [])]

    assert groups(scim.request("GET", path).json()) == [group]
    found = scim.request("GET", '/Users?filter=userName eq "MINE@example.com"').json()
    assert [groups(r) for r in found["Resources"]] == [[group]]
    assert "groups" not in scim.request("GET", path + "?excludedAttributes=groups").json()
    body = {**{k: v for k, v in user.items() if k not in ("id", "meta", "groups")}}
    body["displayName"] = "Renamed"
    put = scim.request("PUT", path, body).json()
    assert put["displayName"] == "Renamed" and groups(put) == [group]
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    patched = scim.request("PATCH", path, deactivate).json()
    assert patched["active"] is False and groups(patched) == []
    assert groups(scim.request("GET", path).json()) == []
