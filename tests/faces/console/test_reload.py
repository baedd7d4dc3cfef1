"""The console as a person uses it: every action that changes something answers with a
redirect, so a reload never repeats it; a secret shown once survives a reload only as
"already shown"; pages name things instead of showing ids; forms default to the safe
choice; the setup page warns when the public URL is one an IdP's cloud cannot reach."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.models import OrgRole
from scimitar.faces.app import create_app
from scimitar.faces.console.console import ACTIONS
from scimitar.storage.database import Database
from tests.faces.admin.helpers import PASSWORD, Site, add_member, csrf_of, sign_in

KEY = re.compile(r'id="scim-key" readonly value="(scim-[^"]+)"')


@pytest.fixture
def console(site: Site) -> Site:
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    return site


def _act(site: Site, path: str, **data: str) -> object:
    return site.client.post(
        path, data={"csrf": csrf_of(site.client), **data}, follow_redirects=False
    )


@pytest.mark.parametrize("action", ["/console/scim/regenerate", "/console/scim/generate"])
def test_new_key_then_reload_keeps_the_key(console: Site, action: str) -> None:
    """Generate and regenerate redirect (303) to the setup page, which shows the key once;
    a reload shows "already shown", changes nothing, and the key keeps working."""
    if action.endswith("/generate"):
        _act(console, "/console/scim/deactivate")
    answer = _act(console, action)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    location = answer.headers["location"]  # type: ignore[attr-defined]
    assert location == "/console/scim?shown=scim-key"
    assert "scim-" not in answer.text  # type: ignore[attr-defined]
    shown = console.client.get(location)
    key = KEY.search(shown.text)
    assert key is not None and shown.status_code == 200
    reloaded = console.client.get(location)
    assert reloaded.status_code == 200 and KEY.search(reloaded.text) is None
    assert 'id="key-already-shown"' in reloaded.text and 'class="error"' not in reloaded.text
    assert console.scim("GET", "/Users", key.group(1)).status_code == 200


def test_sealed_key_opens_only_in_its_own_session(console: Site) -> None:
    """The cookie that carries a new key to its page shows nothing to another session."""
    answer = _act(console, "/console/scim/regenerate")
    sealed = answer.cookies.get("scimitar_once")  # type: ignore[attr-defined]
    assert sealed and "scim-" not in sealed
    add_member(console.db, console.org, "admin@example.com", password=PASSWORD, role=OrgRole.ADMIN)
    other = TestClient(console.client.app, base_url="https://testserver")
    assert sign_in(other, "acme", "admin@example.com").status_code == 303
    other.cookies.set("scimitar_once", sealed)
    page = other.get("/console/scim?shown=scim-key")
    assert "scimitar_once=" in page.headers.get("set-cookie", "")  # it was sent, and cleared
    assert KEY.search(page.text) is None and 'id="key-already-shown"' in page.text


def test_api_token_creation_redirects_and_shows_once(console: Site) -> None:
    """A new API token is shown on the page the creation redirects to, and not on reload."""
    answer = _act(console, "/console/api-tokens", name="terraform")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    location = answer.headers["location"]  # type: ignore[attr-defined]
    token = re.search(
        r'id="api-token" readonly value="(sat-[^"]+)"', console.client.get(location).text
    )
    assert token is not None
    reloaded = console.client.get(location).text
    assert token.group(1) not in reloaded and 'id="token-already-shown"' in reloaded
    assert (
        console.client.get(
            "/api/v1/org", headers={"Authorization": f"Bearer {token.group(1)}"}
        ).status_code
        == 200
    )


def test_webhook_creation_redirects_with_an_empty_form(console: Site) -> None:
    """Adding a webhook redirects; the page shows the secret once and an empty URL field."""
    url = "https://hooks.example.com/scimitar"
    answer = _act(console, "/console/webhooks", url=url, events="*")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    location = answer.headers["location"]  # type: ignore[attr-defined]
    page = console.client.get(location).text
    assert re.search(r'id="webhook-secret" readonly value="whsec_', page)
    assert re.search(r'<input name="url" type="url" value=""', page)
    reloaded = console.client.get(location).text
    assert "whsec_" not in reloaded and 'id="secret-already-shown"' in reloaded
    assert reloaded.count(url) == 1  # listed once: the reload added nothing


def test_every_state_changing_console_action_redirects(console: Site) -> None:
    """Every console action that succeeds answers 303 (never a page a reload re-posts)."""
    previews = {
        "/console/groups/{group_id}/grants/preview",
        "/console/groups/{group_id}/grants/remove-preview",
    }
    sources = {path for path, action in ACTIONS if path not in previews}
    checked = {
        "/console/scim/regenerate": {},
        "/console/scim/deactivate": {},
        "/console/scim/generate": {},
        "/console/settings": {
            "name": "Acme",
            "allowed_domains": "example.com",
            "group_prefix": "Scimitar",
            "email_changes": "allow",
            "custom_groups": "allow",
            "provisioning_mode": "live",
        },
        "/console/api-tokens": {"name": "ci"},
        "/console/projects": {"name": "Checkout"},
        "/console/webhooks": {"url": "https://hooks.example.com/x", "events": "*"},
    }
    for path, data in checked.items():
        assert path in sources
        answer = _act(console, path, **data)
        assert answer.status_code == 303, (path, answer.text)  # type: ignore[attr-defined]


def test_member_history_and_audit_log_name_groups_and_members(console: Site) -> None:
    """A member's history and the audit log show the group's and the member's names."""
    user = console.scim(
        "POST",
        "/Users",
        body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "grace@example.com",
            "displayName": "Grace Hopper",
        },
    ).json()
    group = console.scim(
        "POST",
        "/Groups",
        body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Compilers",
            "members": [{"value": user["id"]}],
        },
    ).json()
    history = console.client.get(f"/console/members/{user['id']}/events").text
    assert ">Compilers</a>" in history and f">{group['id']}<" not in history
    assert ">Grace Hopper</a>" in history
    audit = console.client.get("/console/audit").text
    assert ">Compilers</a>" in audit and ">Grace Hopper</a>" in audit
    assert f"<code>{user['id']}</code>" not in audit


def test_grant_forms_default_to_the_weakest_role(console: Site) -> None:
    """The first (default) choice of a grant form is the project's weakest role."""
    console.api.post("/projects", {"name": "Checkout"})
    member = add_member(console.db, console.org, "ada@example.com")
    page = console.client.get(f"/console/members/{member.id}").text
    select = page[page.index('<select name="grant">') :]
    first = re.search(r"<option value=\"[^\"]+\">([^<]+)</option>", select)
    assert first is not None and first.group(1) == "Checkout — Read-Only"


def test_provisioning_log_shows_query_strings_decoded(console: Site) -> None:
    """The provisioning log shows a SCIM filter as sent, not URL-encoded."""
    console.scim("GET", "/Users?filter=" + quote('userName eq "ada@example.com"'))
    console.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    listing = console.client.get("/console/provisioning").text
    assert "GET /scim/Users?filter=userName eq &#34;ada@example.com&#34;" in listing
    assert "%22" not in listing


@pytest.fixture
def loopback_console(db: Database, site: Site) -> Iterator[TestClient]:
    settings = Settings(database_url=db.url, public_url="http://127.0.0.1:8000")
    client = TestClient(create_app(settings, db=db), base_url="http://127.0.0.1:8000")
    with client:
        assert sign_in(client, "acme", "owner@example.com").status_code == 303
        yield client


def test_setup_page_warns_about_a_loopback_public_url(
    loopback_console: TestClient, console: Site
) -> None:
    """With a loopback public URL the setup page says the IdP's cloud cannot reach it and
    names SCIMITAR_PUBLIC_URL; with a public one it says nothing of the kind."""
    page = loopback_console.get("/console/scim").text
    assert 'id="public-url-warning"' in page and "SCIMITAR_PUBLIC_URL" in page
    assert 'id="public-url-warning"' not in console.client.get("/console/scim").text
