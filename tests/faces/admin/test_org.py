"""Org settings, the SCIM key and admin API tokens over the admin API."""

from __future__ import annotations

from tests.faces.admin.helpers import Api, Site

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "new.hire@example.com",
}


def test_settings_read_and_change(site: Site) -> None:
    """PATCH changes only the fields sent, normalizes domains, and a new prefix renames
    managed groups."""
    site.api.post("/projects", {"name": "Checkout"})
    org = site.api.patch(
        "/org",
        {
            "allowed_domains": ["Example.COM", "@eu.example.com"],
            "group_prefix": "Acme",
            "email_changes": "reject",
            "custom_groups": "reject",
            "provisioning_mode": "dry_run",
        },
    )
    assert org["allowed_domains"] == ["example.com", "eu.example.com"]
    assert (org["name"], org["email_changes"], org["custom_groups"]) == ("Acme", "reject", "reject")
    assert org["provisioning_mode"] == "dry_run"
    names = [g["display_name"] for g in site.api.get("/groups?kind=role")["groups"]]
    assert "Acme-Checkout-Admin" in names
    assert site.api.get("/org") == org


def test_bad_settings_change_nothing(site: Site) -> None:
    """Invalid values are 422, unreadable bodies 400/415, and the org stays as it was."""
    before = site.api.get("/org")
    site.api.patch("/org", {"email_changes": "maybe"}, expect=422)
    site.api.patch("/org", {"allowed_domains": ["not a domain"], "name": "X"}, expect=422)
    site.api.patch("/org", {"name": ""}, expect=422)
    site.api.patch("/org", {"name": "x" * 201}, expect=422)
    site.api.patch("/org", {"group_prefix": "has-hyphen"}, expect=422)
    site.api.patch("/org", {"nmae": "typo"}, expect=400)
    site.api.patch("/org", {"name": 5}, expect=400)
    site.api.patch("/org", ["name"], expect=400)
    raw = site.client.patch(
        "/api/v1/org",
        content=b"{not json",
        headers={**site.api.headers, "Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["code"] == "bad_request"
    form = site.client.patch("/api/v1/org", data={"name": "x"}, headers=site.api.headers)
    assert form.status_code == 415
    assert site.api.get("/org") == before


def test_scim_key_lifecycle_and_real_scim_requests(site: Site) -> None:
    """Deactivation stops the key at the next SCIM request; generate and regenerate show a
    new key once, and only the newest works."""
    assert site.scim("GET", "/Users").status_code == 200
    status = site.api.get("/scim-key")
    assert status["status"] == "enabled"
    assert status["scim_base_url"] == "https://scim.example.test/scim"
    assert site.scim_key.endswith(status["key"]["hint"])
    off = site.api.post("/scim-key/deactivate", expect=200)
    assert off["status"] == "not_enabled"
    assert site.scim("GET", "/Users").status_code == 401
    assert site.scim("POST", "/Users", body=USER).status_code == 401
    site.api.post("/scim-key/deactivate", expect=404)
    fresh = site.api.post("/scim-key")
    assert fresh["secret"].startswith("scim-") and fresh["status"] == "enabled"
    assert "secret" not in site.api.get("/scim-key")
    site.api.post("/scim-key", expect=409)
    assert site.scim("POST", "/Users", fresh["secret"], USER).status_code == 201
    again = site.api.post("/scim-key/regenerate")
    assert site.scim("GET", "/Users", fresh["secret"]).status_code == 401
    assert site.scim("GET", "/Users", again["secret"]).status_code == 200
    assert again["key"]["created_by"].startswith("API token")


def test_other_orgs_key_is_untouched(site: Site) -> None:
    """Deactivating acme's key leaves globex's SCIM key working."""
    site.api.post("/scim-key/deactivate", expect=200)
    assert site.scim("GET", "/Users", site.other_scim_key).status_code == 200


def test_api_tokens_create_list_revoke(site: Site) -> None:
    """A new token is shown once, works at once, is listed by hint only, and can be revoked."""
    created = site.api.post("/api-tokens", {"name": "terraform"})
    assert created["secret"].startswith("sat-") and created["secret"].endswith(created["hint"])
    terraform = Api(site.client, {"Authorization": f"Bearer {created['secret']}"})
    assert terraform.get("/org")["slug"] == "acme"
    listed = {t["name"]: t for t in site.api.get("/api-tokens")["tokens"]}
    assert set(listed) == {"tests", "terraform"}
    assert listed["terraform"]["last_used"] is not None
    assert "secret" not in listed["terraform"]
    terraform.delete(f"/api-tokens/{created['id']}")
    terraform.get("/org", expect=401)
    site.api.delete(f"/api-tokens/{created['id']}" + "x", expect=404)
    assert [t["active"] for t in site.api.get("/api-tokens")["tokens"]] == [True, False]


def test_api_token_name_is_checked(site: Site) -> None:
    """Empty and overlong token names are 422 and create nothing."""
    site.api.post("/api-tokens", {"name": " "}, expect=422)
    site.api.post("/api-tokens", {"name": "t" * 101}, expect=422)
    assert len(site.api.get("/api-tokens")["tokens"]) == 1
