"""examples/host_app against a live Scimitar (`scimitar serve` in its own process), on SQLite
and PostgreSQL: sign-up, setup link, SCIM provisioning by the customer's IdP, the guarded
route, the feed-driven cache and the webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from examples.host_app.app import HostApp, Settings, Tenant, create_app
from scimitar.client import Client
from scimitar.storage.database import Database
from scimitar.webhooks import SIGNATURE_HEADER, sign
from tests.processes import SCIMITAR, free_port, start_serve

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = {"Content-Type": "application/scim+json"}


@dataclass
class Story:
    """A live Scimitar, its operator token, and the host app pointed at it."""

    base: str
    operator_token: str
    app: TestClient

    @property
    def host(self) -> HostApp:
        host: HostApp = self.app.app.state.host  # type: ignore[attr-defined]
        return host

    def sign_up(self) -> tuple[Tenant, str]:
        """Acme signs up with it@acme.example as its admin; returns it and its setup link."""
        body = {"company": "Acme Corp", "admin_email": "it@acme.example"}
        answer = self.app.post("/signup", json=body)
        assert answer.status_code == 201, answer.text
        return self.host.tenants[answer.json()["org"]], answer.json()["setup_link"]

    def settings_page(self, tenant: Tenant, email: str, project: str = "Web") -> int:
        headers = {"X-Org": tenant.slug, "X-User-Email": email}
        return self.app.get(f"/projects/{project}/settings", headers=headers).status_code


class Idp:
    """The customer's identity provider, pushing over SCIM with the org's SCIM key."""

    def __init__(self, base: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base}/scim", headers={"Authorization": f"Bearer {key}", **SCIM_JSON}
        )

    def create_user(self, user_name: str) -> str:
        body = {
            "schemas": [USER],
            "userName": user_name,
            "emails": [{"value": user_name, "primary": True, "type": "work"}],
            "active": True,
        }
        answer = self.http.post("/Users", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def add_to_group(self, display_name: str, user_id: str) -> None:
        found = self.http.get("/Groups", params={"filter": f'displayName eq "{display_name}"'})
        [group] = found.json()["Resources"]
        operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
        answer = self.http.patch(
            f"/Groups/{group['id']}", json={"schemas": [PATCH], "Operations": [operation]}
        )
        assert answer.status_code in (200, 204), answer.text

    def replace(self, user_id: str, attributes: dict[str, object]) -> None:
        operation = {"op": "replace", "value": attributes}
        answer = self.http.patch(
            f"/Users/{user_id}", json={"schemas": [PATCH], "Operations": [operation]}
        )
        assert answer.status_code == 200, answer.text

    def delete(self, user_id: str) -> None:
        assert self.http.delete(f"/Users/{user_id}").status_code == 204


def connect_idp(base: str, tenant: Tenant) -> Idp:
    """What the IT admin does on the setup page, and the org's first project."""
    with Client(base, tenant.api_token) as scimitar:
        key = scimitar.generate_scim_key()["secret"]
        scimitar.create_project("Web")
    return Idp(base, key)


def create_operator_token(database_url: str) -> str:
    command = [str(SCIMITAR), "--database-url", database_url, "operator-token", "create"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Scimitar:
    """`scimitar serve` in its own process, and an operator token made with the CLI."""

    server: subprocess.Popen[bytes]
    base: str
    operator_token: str

    def stop(self) -> None:
        if self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=30)

    def host_app(self, **settings: Any) -> TestClient:
        options = {"public_url": "https://host-app.example", "sync_seconds": 0, **settings}
        # host-app.example never resolves: the worker's delivery attempts fail quietly
        return TestClient(create_app(Settings(self.base, self.operator_token, **options)))


@pytest.fixture
def scimitar(db: Database) -> Iterator[Scimitar]:
    server, base = start_serve(db.url)
    live = Scimitar(server, base, "")
    try:
        live.operator_token = create_operator_token(db.url)
        yield live
    finally:
        live.stop()


@pytest.fixture
def story(scimitar: Scimitar) -> Iterator[Story]:
    with scimitar.host_app() as app:
        yield Story(scimitar.base, scimitar.operator_token, app)


def test_sign_up_creates_the_org_with_its_owner_and_a_setup_link_that_opens(story: Story) -> None:
    """Sign-up creates the org with the admin as Owner and returns a setup link that opens."""
    tenant, setup_link = story.sign_up()
    assert tenant.slug == "acme-corp"
    with Client(story.base, story.operator_token) as operator:
        assert operator.get_tenant(tenant.slug)["name"] == "Acme Corp"
    with Client(story.base, tenant.api_token) as scimitar:
        [owner] = scimitar.list_members()["members"]
    assert (owner["user_name"], owner["org_role"]) == ("it@acme.example", "Owner")
    page = httpx.get(setup_link)
    assert page.status_code == 200
    assert "Continue to SCIM setup" in page.text
    again = story.app.post("/signup", json={"company": "Acme Corp", "admin_email": "x@y.example"})
    assert again.status_code == 409


def test_the_settings_route_admits_a_project_admin_and_refuses_everyone_else(
    story: Story,
) -> None:
    """Only a member holding project.admin in the project (here via its Admin role group)
    opens its settings; a project Member, a stranger and another project get 403."""
    tenant, _ = story.sign_up()
    idp = connect_idp(story.base, tenant)
    ada = idp.create_user("ada@acme.example")
    bob = idp.create_user("bob@acme.example")
    idp.add_to_group("Scimitar-Web-Admin", ada)
    idp.add_to_group("Scimitar-Web-Member", bob)
    assert story.settings_page(tenant, "Ada@Acme.example") == 200
    assert story.settings_page(tenant, "bob@acme.example") == 403
    assert story.settings_page(tenant, "eve@elsewhere.example") == 403
    assert story.settings_page(tenant, "ada@acme.example", project="Billing") == 403
    assert story.app.get("/projects/Web/settings").status_code == 401


def test_the_settings_route_fails_closed_when_scimitar_is_down(scimitar: Scimitar) -> None:
    """Without an answer from Scimitar the guarded route is 503, never let through."""
    with scimitar.host_app() as app:
        story = Story(scimitar.base, scimitar.operator_token, app)
        tenant, _ = story.sign_up()
        idp = connect_idp(scimitar.base, tenant)
        idp.add_to_group("Scimitar-Web-Admin", idp.create_user("ada@acme.example"))
        assert story.settings_page(tenant, "ada@acme.example") == 200
        scimitar.stop()
        assert story.settings_page(tenant, "ada@acme.example", project="Other") == 503


def test_the_background_task_follows_the_feed_unasked(scimitar: Scimitar) -> None:
    """With HOST_APP_SYNC_SECONDS set, a new user reaches the cache without POST /sync."""
    with scimitar.host_app(sync_seconds=0.2) as app:
        story = Story(scimitar.base, scimitar.operator_token, app)
        tenant, _ = story.sign_up()
        connect_idp(scimitar.base, tenant).create_user("new@acme.example")
        deadline = time.monotonic() + 30
        while "new@acme.example" not in tenant.members:
            assert time.monotonic() < deadline, "the background task did not sync"
            time.sleep(0.1)


def test_the_feed_keeps_the_cache_fresh_from_its_checkpoint(story: Story) -> None:
    """POST /sync applies the feed from the last seq: a new user appears, a deactivated
    admin loses the cached decision and the route at once, renames and deletions follow."""
    tenant, _ = story.sign_up()
    idp = connect_idp(story.base, tenant)
    assert story.app.post("/sync").status_code == 200
    assert set(tenant.members) == {"it@acme.example"}
    ada = idp.create_user("ada@acme.example")
    idp.add_to_group("Scimitar-Web-Admin", ada)
    story.app.post("/sync")
    assert tenant.members["ada@acme.example"].active
    assert story.settings_page(tenant, "ada@acme.example") == 200  # decision now cached
    checkpoint = tenant.last_seq
    idp.replace(ada, {"active": False})
    assert story.settings_page(tenant, "ada@acme.example") == 200  # stale until synced
    applied = story.app.post("/sync").json()["applied"][tenant.slug]
    assert applied >= 2  # member.deactivated, access.changed
    assert tenant.last_seq > checkpoint
    assert not tenant.members["ada@acme.example"].active
    assert story.settings_page(tenant, "ada@acme.example") == 403
    assert story.app.post("/sync").json()["applied"][tenant.slug] == 0
    carl = idp.create_user("carl@acme.example")
    idp.replace(carl, {"userName": "carl.new@acme.example"})
    story.app.post("/sync")
    assert "carl@acme.example" not in tenant.members
    assert tenant.members["carl.new@acme.example"].id == carl
    idp.delete(carl)
    story.app.post("/sync")
    assert "carl.new@acme.example" not in tenant.members


def test_the_webhook_receiver_verifies_the_signature(story: Story) -> None:
    """A delivery signed with the org's webhook secret is accepted (and syncs the org); a
    bad or missing signature, or an unknown org, is refused with 400 and changes nothing."""
    tenant, _ = story.sign_up()
    assert tenant.webhook_secret
    idp = connect_idp(story.base, tenant)
    idp.create_user("new@acme.example")
    event = {"id": "e1", "seq": 99, "type": "member.created", "org_id": tenant.org_id}
    body = json.dumps(event).encode()

    def deliver(header: str | None, payload: bytes = body) -> int:
        headers = {SIGNATURE_HEADER: header} if header is not None else {}
        return story.app.post("/webhooks/scimitar", content=payload, headers=headers).status_code

    assert deliver(sign(body, "whsec_not-the-secret")) == 400
    assert deliver(None) == 400
    assert deliver(sign(body, tenant.webhook_secret, timestamp=1)) == 400  # a replay
    stranger = json.dumps({**event, "org_id": "nope"}).encode()
    assert deliver(sign(stranger, tenant.webhook_secret), stranger) == 400
    assert "new@acme.example" not in tenant.members
    assert deliver(sign(body, tenant.webhook_secret)) == 204
    assert "new@acme.example" in tenant.members


def test_a_delivery_from_scimitars_worker_passes_verification(db: Database) -> None:
    """With the host app on a real port, Scimitar's own worker delivers the feed's events to
    the receiver, which verifies them and syncs: the cache learns a new user unasked."""
    env = {**os.environ, "SCIMITAR_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    server, base = start_serve(db.url, env=env)
    port = free_port()
    settings = Settings(base, create_operator_token(db.url), f"http://127.0.0.1:{port}", 0)
    app = create_app(settings)
    host_server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=host_server.run, daemon=True)
    thread.start()
    try:
        while not host_server.started:
            time.sleep(0.05)
        body = {"company": "Acme Corp", "admin_email": "it@acme.example"}
        signed_up = httpx.post(f"http://127.0.0.1:{port}/signup", json=body)
        assert signed_up.status_code == 201, signed_up.text
        tenant: Tenant = app.state.host.tenants[signed_up.json()["org"]]
        idp = connect_idp(base, tenant)
        idp.create_user("new@acme.example")
        deadline = time.monotonic() + 30
        while "new@acme.example" not in tenant.members:
            assert time.monotonic() < deadline, "no delivery reached the receiver"
            time.sleep(0.1)
        with Client(base, tenant.api_token) as scimitar:
            [hook] = scimitar.list_webhooks()
            states = {d["state"] for d in scimitar.list_deliveries(hook["id"])}
        assert "succeeded" in states
    finally:
        host_server.should_exit = True
        thread.join(timeout=10)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
