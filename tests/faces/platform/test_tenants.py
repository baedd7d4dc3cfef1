"""Tenants over HTTP (PRODUCT.md §6): the operator creates, lists, changes and deletes orgs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations, structure
from scimitar.domain.identity import operators
from scimitar.faces.admin.endpoint import PREFIX
from scimitar.storage.tables import orgs as orgs_table
from tests.faces.admin.helpers import Api, sign_in
from tests.faces.platform.helpers import Platform
from tests.faces.scim.harness import live_server


def _org_count(platform: Platform) -> int:
    with platform.site.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(orgs_table)).scalar_one())


def test_create_org_runs_the_cli_rules(platform: Platform) -> None:
    """POST /orgs makes what `scimitar org create` makes: four built-in roles, the named
    Owner, and role groups for each project created later."""
    created = platform.create_org(
        "initech", domains=["Initech.example"], owner_name="Bill  Lumbergh", group_prefix="Ini"
    )
    assert created["slug"] == "initech"
    assert created["domains"] == ["initech.example"]
    assert created["group_prefix"] == "Ini"
    token = platform.operator.post("/orgs/initech/api-tokens", {"name": "backend"})
    org_api = Api(platform.site.client, {"Authorization": f"Bearer {token['token']}"})
    roles = {r["name"] for r in org_api.get("/roles")["roles"]}
    assert roles == {"Owner", "Admin", "Member", "Read-Only"}
    [owner] = org_api.get("/members")["members"]
    assert owner["user_name"] == "owner@initech.example"
    assert owner["org_role"] == "Owner"
    assert (owner["given_name"], owner["family_name"]) == ("Bill", "Lumbergh")
    org_api.post("/projects", {"name": "Web"})
    groups = {g["display_name"] for g in org_api.get("/groups?kind=role")["groups"]}
    assert groups == {f"Ini-Web-{r}" for r in ("Owner", "Admin", "Member", "Read-Only")}
    with platform.site.db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.get_org_by_slug(tx, "initech")
        assert [r.name for r in structure.list_roles(tx, org)] == [
            r.name for r in structure.list_roles(tx, platform.site.org)
        ]


def test_slug_defaults_from_the_name(platform: Platform) -> None:
    """Without a slug, the name gives one, as in the CLI."""
    created = platform.operator.post(
        "/orgs", {"name": "Globo Gym Inc", "owner_email": "owner@globo.example"}
    )
    assert created["slug"] == "globo-gym-inc"
    assert platform.operator.get("/orgs/globo-gym-inc")["name"] == "Globo Gym Inc"


def test_bad_org_input_changes_nothing(platform: Platform) -> None:
    """Missing or malformed fields are 400/422 with a reason (control characters and
    over-long values alike on both engines); a taken slug is 409; a path that is no slug or
    id is 404; nothing is created by any of them."""
    before = _org_count(platform)
    op = platform.operator
    op.post("/orgs", {"name": "X"}, expect=400)
    op.post("/orgs", {"name": "X", "owner_email": "o@x.example", "colour": "red"}, expect=400)
    op.post("/orgs", {"name": 5, "owner_email": "o@x.example"}, expect=400)
    op.post("/orgs", {"name": "X", "owner_email": "not-an-email"}, expect=422)
    op.post("/orgs", {"name": "X", "slug": "Bad Slug", "owner_email": "o@x.example"}, expect=422)
    op.post("/orgs", {"name": "X", "domains": ["nope"], "owner_email": "o@x.example"}, expect=422)
    op.post("/orgs", {"name": "X", "group_prefix": "a-b", "owner_email": "o@x.example"}, expect=422)
    op.post("/orgs", {"name": "X", "slug": "acme", "owner_email": "o@x.example"}, expect=409)
    op.post("/orgs", {"name": "\x00", "owner_email": "o@x.example"}, expect=422)
    op.post("/orgs", {"name": "X" * 201, "owner_email": "o@x.example"}, expect=422)
    op.post("/orgs", {"name": "X", "owner_email": "o@x.example", "owner_name": "\x00"}, expect=422)
    op.post(
        "/orgs", {"name": "X", "owner_email": "o@x.example", "owner_name": "a" * 201}, expect=422
    )
    op.post("/orgs", {"name": "X", "owner_email": "o\x00@x.example"}, expect=422)
    op.post(
        "/orgs", {"name": "X", "owner_email": "o@x.example", "domains": ["a\x00.io"]}, expect=422
    )
    op.patch("/orgs/acme", {"name": "A\x00"}, expect=422)
    op.get("/orgs?q=%00", expect=400)
    op.get("/orgs/%00", expect=404)
    op.get("/orgs/" + "a" * 300, expect=404)
    op.delete("/orgs/acme/setup-links/%00", expect=404)
    platform.site.api.delete("/setup-links/%00", expect=404)
    response = platform.site.client.post(
        PREFIX + "/orgs", content=b"{", headers={**op.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert _org_count(platform) == before


def test_list_orgs_pages_and_searches(platform: Platform) -> None:
    """GET /orgs is ordered by slug, paged by limit/offset with a total, and `q` matches
    text in the slug or name, case-insensitively."""
    for slug in ("alpha", "bravo", "charlie"):
        platform.create_org(slug)
    listed = platform.operator.get("/orgs")
    assert [o["slug"] for o in listed["orgs"]] == ["acme", "alpha", "bravo", "charlie", "globex"]
    page = platform.operator.get("/orgs?limit=2&offset=2")
    assert [o["slug"] for o in page["orgs"]] == ["bravo", "charlie"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [o["slug"] for o in platform.operator.get("/orgs?q=BRAV")["orgs"]] == ["bravo"]
    assert platform.operator.get("/orgs?q=%25")["total"] == 0  # a LIKE wildcard is literal
    platform.operator.get("/orgs?limit=0", expect=400)
    platform.operator.get("/orgs?offset=-1", expect=400)


def test_get_and_patch_org(platform: Platform) -> None:
    """GET and PATCH /orgs/{slug}: settings change through the domain's rules; an unknown
    slug is 404; the slug itself cannot change."""
    platform.create_org("initech")
    changed = platform.operator.patch(
        "/orgs/initech", {"name": "Initech Corp", "domains": ["initech.example"]}
    )
    assert (changed["name"], changed["domains"]) == ("Initech Corp", ["initech.example"])
    assert platform.operator.get("/orgs/initech") == changed
    platform.operator.patch("/orgs/initech", {"slug": "other"}, expect=400)
    platform.operator.patch("/orgs/initech", {"email_changes": "maybe"}, expect=422)
    platform.operator.get("/orgs/nope", expect=404)
    platform.operator.patch("/orgs/nope", {"name": "x"}, expect=404)
    platform.operator.delete("/orgs/nope", expect=404)


def test_org_token_made_by_the_operator(platform: Platform) -> None:
    """POST /orgs/{slug}/api-tokens makes an admin token of that org only, recorded as made
    by the operator token; it is listed in the org's tokens."""
    token = platform.operator.post("/orgs/globex/api-tokens", {"name": "backend"})
    assert token["token"].startswith("sat-")
    assert token["created_by"].startswith("operator token 'host'")
    org_api = Api(platform.site.client, {"Authorization": f"Bearer {token['token']}"})
    assert org_api.get("/org")["slug"] == "globex"
    listed = {t["id"]: t for t in org_api.get("/api-tokens")["tokens"]}
    assert listed[token["id"]]["created_by"] == token["created_by"]
    platform.operator.post("/orgs/globex/api-tokens", {"name": ""}, expect=422)
    platform.operator.post("/orgs/nope/api-tokens", {"name": "x"}, expect=404)
    audit = org_api.get("/audit-log?action=api_token.created")["entries"]
    assert audit[0]["actor_kind"] == "operator"


def test_operator_audit_trail_outlives_the_org(platform: Platform) -> None:
    """Creating, changing and deleting an org over HTTP is in the operator audit trail,
    which keeps the deletion after the org is gone; the operator reads it over HTTP
    (`GET /operator-audit`), as `scimitar operator-audit` prints it."""
    platform.create_org("initech")
    platform.operator.patch("/orgs/initech", {"name": "Initech Corp"})
    platform.operator.delete("/orgs/initech")
    platform.operator.get("/orgs/initech", expect=404)
    trail = platform.operator.get("/operator-audit?org=initech")
    assert [e["action"] for e in trail["entries"]] == ["org.deleted", "org.updated", "org.created"]
    assert trail["next_before"] is None
    assert all(e["actor_kind"] == "operator" for e in trail["entries"])
    assert all(e["actor"].startswith("operator token 'host'") for e in trail["entries"])
    deleted = trail["entries"][0]
    assert deleted["detail"] == {"name": "Initech Corp", "members": 1, "projects": 0, "groups": 0}
    assert (deleted["org_slug"], deleted["resource_type"]) == ("initech", "org")
    with platform.site.db.read() as conn:
        kept = operators.audit_trail(Tx(conn, CLI_ACTOR), org_slug="initech")
    assert [e.id for e in kept] == [e["id"] for e in trail["entries"]]


def test_operator_audit_pages_and_filters(platform: Platform) -> None:
    """Newest first, paged with `before=<next_before>`, filtered by org slug and by a
    prefix of the action; bad parameters are 400 (other credentials are refused as on
    every operator endpoint: `test_credential_kinds`)."""
    for slug in ("alpha", "bravo", "charlie"):
        platform.create_org(slug)
    platform.operator.post("/orgs/bravo/api-tokens", {"name": "backend"})
    everything = platform.operator.get("/operator-audit")["entries"]
    ids = [e["id"] for e in everything]
    assert [e["action"] for e in everything] == [
        "api_token.created",
        "org.created",
        "org.created",
        "org.created",
        "operator_token.created",  # the fixture's token, made with the CLI
    ]
    assert ids == sorted(ids, reverse=True)
    first = platform.operator.get("/operator-audit?limit=3")
    assert [e["id"] for e in first["entries"]] == ids[:3] and first["next_before"] == ids[2]
    rest = platform.operator.get(f"/operator-audit?limit=3&before={first['next_before']}")
    assert [e["id"] for e in rest["entries"]] == ids[3:] and rest["next_before"] is None
    created = platform.operator.get("/operator-audit?action=org.cre")["entries"]
    assert [e["org_slug"] for e in created] == ["charlie", "bravo", "alpha"]
    bravo = platform.operator.get("/operator-audit?org=bravo")["entries"]
    assert [e["action"] for e in bravo] == ["api_token.created", "org.created"]
    assert platform.operator.get("/operator-audit?org=nope")["entries"] == []
    platform.operator.get("/operator-audit?limit=0", expect=400)
    platform.operator.get("/operator-audit?before=x", expect=400)


def test_operator_token_last_used(platform: Platform) -> None:
    """A request records when the operator token was last used."""
    platform.operator.get("/orgs")
    with platform.site.db.read() as conn:
        [token] = operators.list_tokens(Tx(conn, CLI_ACTOR))
    assert token.last_used is not None


def test_console_session_of_the_deleted_org_ends(platform: Platform) -> None:
    """Deleting an org signs its console users out and stops its tokens at once."""
    token = platform.operator.post("/orgs/acme/api-tokens", {"name": "x"})["token"]
    assert sign_in(platform.site.client, "acme", "owner@example.com").status_code == 303
    platform.operator.delete("/orgs/acme")
    Api(platform.site.client, {"Authorization": f"Bearer {token}"}).get("/org", expect=401)
    page = platform.site.client.get("/console/members", follow_redirects=False)
    assert page.status_code == 303
    assert "reason=ended" in page.headers["location"]


def test_concurrent_creates_of_one_slug(platform: Platform) -> None:
    """Eight simultaneous POST /orgs with one slug: one 201, the rest 409, never a 500."""
    db = platform.site.db
    body = {"name": "Race", "slug": "race", "owner_email": "owner@race.example"}
    headers = {"Authorization": f"Bearer {platform.token}"}
    with live_server(db) as base, ThreadPoolExecutor(8) as pool:

        def create(_: int) -> int:
            return httpx.post(base + PREFIX + "/orgs", json=body, headers=headers).status_code

        statuses = sorted(pool.map(create, range(8)))
    assert statuses == [201] + [409] * 7
