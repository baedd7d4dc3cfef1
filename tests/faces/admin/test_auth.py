"""Who may use the admin API: org admins' tokens and console sessions, nobody else."""

from __future__ import annotations

from scimitar.domain.models import OrgRole
from scimitar.faces.admin.endpoint import PREFIX
from scimitar.faces.admin.routes import ENDPOINTS
from tests.faces.admin.helpers import Api, Site, add_member, api_token, csrf_of, sign_in


def test_missing_credentials_are_refused(site: Site) -> None:
    """No token and no session: 401 with the JSON error shape and a WWW-Authenticate."""
    response = site.client.get(PREFIX + "/members")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_endpoint_requires_credentials(site: Site) -> None:
    """No endpoint but the OpenAPI document answers without credentials."""
    for endpoint in ENDPOINTS:
        path = PREFIX + endpoint.path.replace("{", "").replace("}", "")
        # Bad query parameters too: nothing is read before the caller is known.
        query = "?" + "&".join(f"{p.name}=%C2%B2" for p in endpoint.query)
        response = site.client.request(endpoint.method, path + query, json={})
        assert response.status_code == 401, (endpoint.method, path, response.text)


def test_unknown_token_and_scim_key_are_refused(site: Site) -> None:
    """A made-up token, and a SCIM key (keys and tokens are distinct), are 401."""
    for credential in ("sat-not-a-real-token", site.scim_key, "garbage"):
        Api(site.client, {"Authorization": f"Bearer {credential}"}).get("/org", expect=401)


def test_revoked_token_stops_at_once(site: Site) -> None:
    """A revoked token fails on the very next request."""
    doomed = api_token(site.db, site.org, "doomed")
    doomed_api = Api(site.client, {"Authorization": f"Bearer {doomed}"})
    doomed_api.get("/org")
    [info] = [t for t in site.api.get("/api-tokens")["tokens"] if t["name"] == "doomed"]
    site.api.delete(f"/api-tokens/{info['id']}")
    doomed_api.get("/org", expect=401)
    assert site.api.get("/org")["slug"] == "acme"


def test_token_of_one_org_cannot_touch_another(site: Site) -> None:
    """An acme token never sees or changes globex's members, projects or settings."""
    other_api = Api(site.client, {"Authorization": f"Bearer {api_token(site.db, site.other)}"})
    stranger = add_member(site.db, site.other, "stranger@example.com")
    site.api.get(f"/members/{stranger.id}", expect=404)
    site.api.patch(f"/members/{stranger.id}", {"org_role": "Admin"}, expect=404)
    site.api.delete(f"/members/{stranger.id}", expect=404)
    listed = site.api.get("/members?q=stranger")
    assert listed["total"] == 0
    project = other_api.post("/projects", {"name": "Secret"})
    site.api.get(f"/projects/{project['id']}", expect=404)
    site.api.delete(f"/projects/{project['id']}", expect=404)
    assert other_api.get(f"/projects/{project['id']}")["name"] == "Secret"
    assert other_api.get(f"/members/{stranger.id}")["org_role"] == "Member"


def test_admin_session_of_one_org_cannot_touch_another(site: Site) -> None:
    """A signed-in acme admin gets 404 for globex's member, with cookie and CSRF header."""
    add_member(site.db, site.org, "ada@example.com", role=OrgRole.ADMIN, password="a" * 16)
    assert sign_in(site.client, "acme", "ada@example.com", "a" * 16).status_code == 303
    session_api = Api(site.client, {"X-CSRF-Token": csrf_of(site.client)})
    stranger = add_member(site.db, site.other, "stranger@example.com")
    session_api.get(f"/members/{stranger.id}", expect=404)
    session_api.delete(f"/members/{stranger.id}", expect=404)
    assert session_api.get("/org")["slug"] == "acme"


def test_session_changes_need_the_csrf_header(site: Site) -> None:
    """With a session cookie, reads work; changes without X-CSRF-Token are 403 and change
    nothing."""
    sign_in(site.client, "acme", "owner@example.com")
    cookie_api = Api(site.client)
    assert cookie_api.get("/org")["name"] == "Acme"
    cookie_api.patch("/org", {"name": "Forged"}, expect=403)
    Api(site.client, {"X-CSRF-Token": "wrong"}).patch("/org", {"name": "Forged"}, expect=403)
    assert cookie_api.get("/org")["name"] == "Acme"
    with_csrf = Api(site.client, {"X-CSRF-Token": csrf_of(site.client)})
    assert with_csrf.patch("/org", {"name": "Acme Corp"})["name"] == "Acme Corp"


def test_member_cannot_use_the_api(site: Site) -> None:
    """An admin demoted to Member loses the API at once, session and all (403)."""
    admin = add_member(site.db, site.org, "ada@example.com", role=OrgRole.ADMIN, password="a" * 16)
    sign_in(site.client, "acme", "ada@example.com", "a" * 16)
    csrf = csrf_of(site.client)
    session_api = Api(site.client, {"X-CSRF-Token": csrf})
    session_api.get("/members")
    site.api.patch(f"/members/{admin.id}", {"org_role": "Member"})
    session_api.get("/members", expect=403)
    session_api.post("/projects", {"name": "Sneaky"}, expect=403)
    assert site.api.get("/projects")["projects"] == []


def test_ownership_transfer_is_for_the_owner_only(site: Site) -> None:
    """Tokens and Admins get 403; the signed-in Owner hands over and becomes an Admin."""
    admin = add_member(site.db, site.org, "ada@example.com", role=OrgRole.ADMIN, password="a" * 16)
    site.api.post("/org/transfer-ownership", {"member_id": admin.id}, expect=403)
    sign_in(site.client, "acme", "ada@example.com", "a" * 16)
    admin_api = Api(site.client, {"X-CSRF-Token": csrf_of(site.client)})
    admin_api.post("/org/transfer-ownership", {"member_id": admin.id}, expect=403)
    sign_in(site.client, "acme", "owner@example.com")
    owner_api = Api(site.client, {"X-CSRF-Token": csrf_of(site.client)})
    moved = owner_api.post("/org/transfer-ownership", {"member_id": admin.id}, expect=200)
    assert moved["org_role"] == "Owner"
    assert site.api.get(f"/members/{site.owner.id}")["org_role"] == "Admin"


def test_changes_are_audited_with_the_actor(site: Site) -> None:
    """A token's change is audited as that token; a console user's as their email."""
    site.api.post("/projects", {"name": "Checkout"})
    sign_in(site.client, "acme", "owner@example.com")
    Api(site.client, {"X-CSRF-Token": csrf_of(site.client)}).post("/projects", {"name": "Search"})
    entries = site.api.get("/audit-log?action=project.created")["entries"]
    assert [(e["actor_kind"], e["after"]["name"]) for e in entries] == [
        ("console", "Search"),
        ("api_token", "Checkout"),
    ]
    assert entries[0]["actor"] == "owner@example.com"
    assert entries[1]["actor"].startswith("API token 'tests'")


def test_a_console_session_reads_the_feed_and_manages_webhooks(site: Site) -> None:
    """The feed and webhooks endpoints take a console session like the rest of the admin
    API: reads with the cookie, changes only with the CSRF header. Their answers match the
    OpenAPI document (the Api helper checks every answer against it)."""
    sign_in(site.client, "acme", "owner@example.com")
    cookie_api = Api(site.client)
    assert cookie_api.get("/events?limit=5")["events"]
    hook = {"url": "https://hooks.example.com/in", "events": ["*"]}
    cookie_api.post("/webhooks", hook, expect=403)
    assert cookie_api.get("/webhooks")["webhooks"] == []
    with_csrf = Api(site.client, {"X-CSRF-Token": csrf_of(site.client)})
    made = with_csrf.post("/webhooks", hook)
    assert made["secret"]
    assert with_csrf.patch(f"/webhooks/{made['id']}", {"enabled": False})["enabled"] is False
    assert cookie_api.get(f"/webhooks/{made['id']}/deliveries")["deliveries"] == []
    owner = cookie_api.get("/members?q=owner")["members"][0]
    assert [e["type"] for e in cookie_api.get(f"/members/{owner['id']}/events")["events"]]
    with_csrf.delete(f"/webhooks/{made['id']}", expect=204)
    site.client.cookies.clear()
    assert site.client.get(PREFIX + "/events").status_code == 401
