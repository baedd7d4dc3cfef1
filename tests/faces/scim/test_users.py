"""/Users over HTTP: lifecycle rules, listing, projection, ETags, log, concurrency."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from sqlalchemy import select

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.records import provisioning
from scimitar.storage.database import Database
from scimitar.storage.tables import members
from scimitar.storage.tables import provisioning_log as log_table
from tests.faces.scim.harness import PUBLIC_URL, Scim, live_server, make_org, start
from tests.faces.scim.test_wire import assert_error

EXT = "urn:ietf:params:scim:schemas:extension:scimitar:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def create(scim: Scim, user_name: str, **extra: Any) -> dict[str, Any]:
    response = scim.request(
        "POST",
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_returns_full_resource_with_meta(scim: Scim) -> None:
    """201 with id, schemas, absolute meta.location, version, ETag and Location headers; no password."""
    response = scim.request(
        "POST",
        "/Users",
        {
            "userName": "a@example.com",
            "password": "hunter2!",
            "groups": [],
            "name": {"givenName": "A"},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["meta"]["location"] == f"{PUBLIC_URL}/scim/Users/{body['id']}"
    assert response.headers["location"] == body["meta"]["location"]
    assert response.headers["etag"] == body["meta"]["version"] == 'W/"1"'
    assert body["active"] is True and body[EXT] == {"orgRole": "Member"}
    assert "password" not in response.text and "hunter2" not in response.text
    assert body["meta"]["created"].endswith("Z") and body["meta"]["resourceType"] == "User"


def test_duplicate_is_409_uniqueness(scim: Scim) -> None:
    """A second POST of a userName in another case → 409 uniqueness."""
    create(scim, "Dup@Example.com")
    assert_error(scim.request("POST", "/Users", {"userName": "dup@EXAMPLE.com"}), 409, "uniqueness")


def test_missing_user_name_is_invalid_value(scim: Scim) -> None:
    """userName is required."""
    assert_error(scim.request("POST", "/Users", {"name": {"givenName": "x"}}), 400, "invalidValue")


def test_deactivated_user_stays_readable_and_findable(scim: Scim) -> None:
    """Okta deactivation keeps the resource: GET 200 active=false, filter finds it."""
    user = create(scim, "deact@example.com")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    assert scim.request("PATCH", f"/Users/{user['id']}", patch).json()["active"] is False
    assert scim.request("GET", f"/Users/{user['id']}").json()["active"] is False
    found = scim.request("GET", '/Users?filter=userName eq "deact@example.com"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False


def test_owner_guard_over_http(scim: Scim) -> None:
    """The Owner cannot be deactivated or deleted over SCIM; a second Owner is refused."""
    owner = scim.request("GET", '/Users?filter=userName eq "owner@example.com"').json()[
        "Resources"
    ][0]
    body = assert_error(
        scim.request(
            "PATCH",
            f"/Users/{owner['id']}",
            {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        ),
        400,
        "mutability",
    )
    assert body["detail"] == "The organization owner cannot be modified via SCIM"
    assert_error(scim.request("DELETE", f"/Users/{owner['id']}"), 400, "mutability")
    body = assert_error(
        scim.request(
            "POST", "/Users", {"userName": "boss2@example.com", EXT: {"orgRole": "Owner"}}
        ),
        400,
        "invalidValue",
    )
    assert body["detail"] == "Cannot set multiple owners"
    assert_error(
        scim.request("POST", "/Users", {"userName": "x@example.com", EXT: {"orgRole": "King"}}),
        400,
        "invalidValue",
    )


def test_org_role_over_scim(scim: Scim) -> None:
    """orgRole of the Scimitar extension sets and changes the org role."""
    user = create(scim, "adm@example.com", **{EXT: {"orgRole": "admin"}})
    assert user[EXT]["orgRole"] == "Admin"
    patch = {"Operations": [{"op": "replace", "path": f"{EXT}:orgRole", "value": "Member"}]}
    assert scim.request("PATCH", f"/Users/{user['id']}", patch).json()[EXT]["orgRole"] == "Member"


def test_domain_gate_over_http(db_url: str) -> None:
    """With allowed domains, other domains → 400 invalidValue naming the user."""
    client, db = start(db_url)
    with client:
        org, key = make_org(db, "gated", ("example.com",))
        scim = Scim(client, db, org, key)
        body = assert_error(
            scim.request("POST", "/Users", {"userName": "x@evil.com"}), 400, "invalidValue"
        )
        assert body["detail"] == "User x@evil.com is not allowed to be created in this organization"
    db.dispose()


def test_email_change_policy_over_http(scim: Scim) -> None:
    """email_changes=reject → 400 mutability saying so; nothing changes."""
    user = create(scim, "mail@example.com")
    with scim.db.write() as conn:
        organizations.update_settings(Tx(conn, CLI_ACTOR), scim.org, email_changes="reject")
    patch = {"Operations": [{"op": "replace", "path": "userName", "value": "new@example.com"}]}
    body = assert_error(scim.request("PATCH", f"/Users/{user['id']}", patch), 400, "mutability")
    assert "Email changes are disabled" in str(body["detail"])
    assert scim.request("GET", f"/Users/{user['id']}").json()["userName"] == "mail@example.com"


def test_delete_then_404(scim: Scim) -> None:
    """DELETE → 204; again → 404; GET → 404 (Entra hard delete)."""
    user = create(scim, "gone@example.com")
    assert scim.request("DELETE", f"/Users/{user['id']}").status_code == 204
    assert_error(scim.request("DELETE", f"/Users/{user['id']}"), 404)
    assert_error(scim.request("GET", f"/Users/{user['id']}"), 404)


def test_put_replaces_and_keeps_active_when_omitted(scim: Scim) -> None:
    """PUT replaces the document; an omitted `active` never deactivates (Okta AIW)."""
    user = create(scim, "put@example.com", title="Eng", name={"givenName": "P"})
    body = {"userName": "put@example.com", "name": {"givenName": "Q"}}
    updated = scim.request("PUT", f"/Users/{user['id']}", body).json()
    assert (
        updated["active"] is True
        and updated["name"] == {"givenName": "Q"}
        and "title" not in updated
    )
    assert updated["meta"]["version"] == 'W/"2"'


def test_if_match(scim: Scim) -> None:
    """If-Match with a stale version → 412 and nothing changes; the right one passes."""
    user = create(scim, "etag@example.com")
    patch = {"Operations": [{"op": "replace", "path": "displayName", "value": "E"}]}
    assert_error(scim.request("PATCH", f"/Users/{user['id']}", patch, **{"If-Match": 'W/"9"'}), 412)
    ok = scim.request("PATCH", f"/Users/{user['id']}", patch, **{"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    assert (
        scim.request("GET", f"/Users/{user['id']}", **{"If-None-Match": 'W/"2"'}).status_code == 304
    )


def test_patch_is_atomic(scim: Scim) -> None:
    """One bad operation fails the whole request; the good ones before it are not applied."""
    user = create(scim, "atomic@example.com")
    patch = {
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "noSuchAttribute", "value": "x"},
        ]
    }
    assert_error(scim.request("PATCH", f"/Users/{user['id']}", patch), 400, "invalidPath")
    assert "displayName" not in scim.request("GET", f"/Users/{user['id']}").json()


def test_pagination_contract(scim: Scim) -> None:
    """Integer totals, startIndex echoed, itemsPerPage == len(Resources), count=0, past the end."""
    for i in range(7):
        create(scim, f"p{i}@example.com")
    page = scim.request("GET", "/Users?startIndex=3&count=2").json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (8, 3, 2)
    ids = [u["id"] for u in scim.request("GET", "/Users?count=100").json()["Resources"]]
    assert [u["id"] for u in page["Resources"]] == ids[2:4]
    totals = scim.request("GET", "/Users?count=0").json()
    assert totals["totalResults"] == 8 and totals["Resources"] == [] and totals["itemsPerPage"] == 0
    past = scim.request("GET", "/Users?startIndex=50&count=10").json()
    assert past["totalResults"] == 8 and past["Resources"] == [] and past["startIndex"] == 50
    zero = scim.request("GET", "/Users?startIndex=0&count=-5").json()
    assert zero["startIndex"] == 1 and zero["Resources"] == []
    assert_error(scim.request("GET", "/Users?count=abc"), 400, "invalidValue")


def test_sort(scim: Scim) -> None:
    """sortBy/sortOrder order the whole result, case-insensitively for userName."""
    for name in ("b@example.com", "C@example.com", "a@example.com"):
        create(scim, name)
    names = [
        u["userName"]
        for u in scim.request("GET", "/Users?sortBy=userName&sortOrder=descending").json()[
            "Resources"
        ]
    ]
    assert names == ["owner@example.com", "C@example.com", "b@example.com", "a@example.com"]


def test_projection(scim: Scim) -> None:
    """attributes and excludedAttributes shape every read; id and schemas always stay."""
    user = create(
        scim,
        "proj@example.com",
        name={"givenName": "P", "familyName": "J"},
        emails=[{"value": "proj@example.com", "type": "work"}],
    )
    only = scim.request("GET", f"/Users/{user['id']}?attributes=userName,name.givenName").json()
    assert set(only) == {"schemas", "id", "userName", "name"} and only["name"] == {"givenName": "P"}
    without = scim.request("GET", f"/Users/{user['id']}?excludedAttributes=emails,meta").json()
    assert "emails" not in without and "meta" not in without and without["id"] == user["id"]
    listed = scim.request("GET", "/Users?attributes=emails.value&count=1").json()["Resources"][0]
    assert set(listed) <= {"schemas", "id", "emails"}


def test_search_post(scim: Scim) -> None:
    """POST /Users/.search and /.search take a SearchRequest body."""
    create(scim, "srch@example.com")
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "srch"',
        "attributes": ["userName"],
        "count": 5,
    }
    for path in ("/Users/.search", "/.search"):
        found = scim.request("POST", path, body).json()
        assert (
            found["totalResults"] == 1 and found["Resources"][0]["userName"] == "srch@example.com"
        )
    assert_error(
        scim.request("POST", "/Users/.search", {"schemas": ["urn:x"], "filter": "x"}),
        400,
        "invalidSyntax",
    )


def test_bad_filter_is_400(scim: Scim) -> None:
    """Unparsable filters and unknown attributes → 400 invalidFilter, never match-all."""
    assert_error(scim.request("GET", "/Users?filter=RUNSCOPE300@EXAMPLE.COM"), 400, "invalidFilter")
    assert_error(scim.request("GET", '/Users?filter=nosuch eq "x"'), 400, "invalidFilter")


def test_provisioning_log_records_without_secrets(scim: Scim) -> None:
    """Every SCIM request is logged with status, user-agent, detail; passwords redacted."""
    scim.request(
        "POST",
        "/Users",
        {"userName": "log@example.com", "password": "s3cret-pass"},
        **{"User-Agent": "Okta SCIM Client 1.0.0"},
    )
    scim.request("POST", "/Users", {"userName": "log@example.com"})
    scim.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    with scim.db.write() as conn:
        entries = provisioning.recent_requests(Tx(conn, CLI_ACTOR), scim.org)
        raw = " ".join(str(tuple(r)) for r in conn.execute(select(log_table)))
    assert [(e.method, e.status) for e in entries[:2]] == [("POST", 409), ("POST", 201)]
    assert entries[1].user_agent == "Okta SCIM Client 1.0.0"
    assert entries[0].detail and "already exists" in entries[0].detail
    assert "s3cret-pass" not in raw and scim.key not in raw and "[redacted]" in raw


def test_fifty_concurrent_posts_one_wins(db_url: str) -> None:
    """50 concurrent POSTs of one userName in different cases → one 201, 49 409 uniqueness."""
    db = Database(db_url)
    _, key = make_org(db)
    results: list[tuple[int, str | None]] = []
    with live_server(db) as base:
        barrier = threading.Barrier(50)

        def post(i: int) -> None:
            name = "".join(
                c.upper() if (i >> k) & 1 else c for k, c in enumerate("racer@example.com")
            )
            barrier.wait()
            response = httpx.post(
                f"{base}/scim/Users",
                json={"userName": name},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )
            results.append((response.status_code, response.json().get("scimType")))

        threads = [threading.Thread(target=post, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results, key=str) == sorted([(201, None)] + [(409, "uniqueness")] * 49, key=str)
    with db.read() as conn:
        rows = conn.execute(
            select(members.c.user_name).where(members.c.user_name_key == "racer@example.com")
        ).all()
    assert len(rows) == 1
    db.dispose()
