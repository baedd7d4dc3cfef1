"""The blocking client against a real server: round trips, errors, access checks, feed."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from scimitar.client import (
    BadRequest,
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Invalid,
    NotFound,
    PolicyError,
    Retries,
    ScimitarError,
    Unauthorized,
)
from tests.client.conftest import Live
from tests.faces.platform.helpers import operator_token


def test_structure_round_trips(live: Live) -> None:
    """Projects, roles, teams and a custom group's grant, created, read, changed, deleted."""
    with live.client() as scimitar:
        project = scimitar.create_project("Checkout", default_role="Read-Only")
        assert scimitar.get_project(project["id"])["default_role"] == "Read-Only"
        renamed = scimitar.update_project(project["id"], name="Payments")
        assert renamed["name"] == "Payments"
        role = scimitar.create_role("Billing", ["billing.read"])
        roles = {r["name"]: r for r in scimitar.list_roles()}
        assert roles["Billing"]["permissions"] == ["billing.read"]
        assert roles["Member"]["permissions"] == ["project.read", "project.write"]
        team = scimitar.create_team(project["id"], "Web")
        assert scimitar.list_teams(project_id=project["id"]) == [team]
        groups = scimitar.list_groups(kind="role", q="Payments-Billing")
        assert [g["display_name"] for g in groups["groups"]] == ["Scimitar-Payments-Billing"]
        scimitar.delete_team(team["id"])
        scimitar.delete_role(role["id"])
        scimitar.delete_project(project["id"])
        assert scimitar.list_projects() == []


def test_members_assignments_and_access(live: Live) -> None:
    """A member found by text, given a direct assignment, checked, then removed."""
    ada = live.add_user("ada@example.com")
    with live.client() as scimitar:
        project = scimitar.create_project("Checkout")
        page = scimitar.list_members(q="ada")
        assert [m["id"] for m in page["members"]] == [ada] and page["total"] == 1
        admin = next(r for r in scimitar.list_roles() if r["name"] == "Admin")
        grant = scimitar.add_assignment(ada, project["id"], role_id=admin["id"])
        detail = scimitar.get_member(ada)
        assert detail["assignments"] == [grant]
        assert detail["access"][0]["role"] == "Admin"
        results = scimitar.check_access(
            [
                {"member": "ada@example.com", "project": "Checkout", "role": "Member"},
                {"member": ada, "project": project["id"], "permission": "project.delete"},
                {"member": "nobody@example.com", "project": "Checkout", "role": "Member"},
            ]
        )
        assert [r["allowed"] for r in results] == [True, False, False]
        assert scimitar.is_allowed("ada@example.com", "Checkout", permission="members.manage")
        scimitar.remove_assignment(ada, grant["id"])
        assert not scimitar.is_allowed("ada@example.com", "Checkout", role="Read-Only")
        events = scimitar.member_events(ada)
        assert events[0]["type"] == "member.created"
        assert "member.assignment_removed" in [e["type"] for e in events]
        scimitar.remove_member(ada)
        with pytest.raises(NotFound):
            scimitar.get_member(ada)


def test_org_keys_tokens_and_logs(live: Live) -> None:
    """Settings, the SCIM key's life, API tokens and both logs."""
    with live.client() as scimitar:
        assert scimitar.update_org(name="Acme Corp")["name"] == "Acme Corp"
        assert scimitar.get_org()["name"] == "Acme Corp"
        regenerated = scimitar.regenerate_scim_key()
        assert regenerated["secret"].startswith("scim-")
        assert scimitar.deactivate_scim_key()["status"] == "not_enabled"
        assert scimitar.generate_scim_key()["status"] == "enabled"
        token = scimitar.create_api_token("backend")
        assert token["secret"].startswith("sat-")
        assert token["id"] in {t["id"] for t in scimitar.list_api_tokens()}
        with Client(live.base, token["secret"]) as other:
            assert other.get_org()["slug"] == "acme"
        scimitar.revoke_api_token(token["id"])
        with Client(live.base, token["secret"]) as other, pytest.raises(Unauthorized):
            other.get_org()
        audit = scimitar.audit_log(action="scim_key.", limit=10)
        assert {e["action"] for e in audit["entries"]} >= {"scim_key.generated"}
        assert scimitar.provisioning_log(limit=5)["entries"] == []


def test_operator_reads_its_audit_trail(live: Live) -> None:
    """An operator token's client creates and deletes a tenant, then pages through the
    operator audit trail, filtered by the deleted org's slug."""
    with Client(live.base, operator_token(live.db)) as operator:
        operator.create_org("Initech", owner_email="owner@initech.example")
        operator.delete_tenant("initech")
        first = operator.operator_audit(org="initech", limit=1)
        assert [e["action"] for e in first["entries"]] == ["org.deleted"]
        rest = operator.operator_audit(org="initech", before=first["next_before"])
        assert [e["action"] for e in rest["entries"]] == ["org.created"]
        assert rest["next_before"] is None
        assert operator.operator_audit(action="operator_token.")["entries"][0]["org_slug"] is None
    with live.client() as org_client, pytest.raises(Forbidden):
        org_client.operator_audit()


def test_errors_map_to_the_exception_tree(live: Live) -> None:
    """404, 409 conflict, 409 policy, 422, 400 and 403 raise their own classes, with the
    API's code and detail."""
    with live.client() as scimitar:
        scimitar.create_project("Checkout")
        with pytest.raises(Conflict) as conflict:
            scimitar.create_project("checkout")
        assert conflict.value.status == 409 and conflict.value.code == "conflict"
        owner = next(r for r in scimitar.list_roles() if r["name"] == "Owner")
        with pytest.raises(PolicyError) as policy:
            scimitar.delete_role(owner["id"])
        assert "built-in" in policy.value.detail
        with pytest.raises(Invalid):
            scimitar.create_project("")
        with pytest.raises(Invalid):
            scimitar.check_access([])
        with pytest.raises(BadRequest):
            scimitar.list_groups(kind="nonsense")
        with pytest.raises(NotFound) as missing:
            scimitar.get_project("no-such-project")
        assert isinstance(missing.value, ScimitarError) and missing.value.code == "not_found"
        member = scimitar.list_members()["members"][0]
        with pytest.raises(Forbidden):  # Owner-only: an API token is not the Owner
            scimitar.transfer_ownership(member["id"])
    with Client(live.base, "sat-wrong") as stranger, pytest.raises(Unauthorized):
        stranger.list_projects()


def test_webhooks_round_trip(live: Live) -> None:
    """A webhook endpoint created (secret once), listed, changed, its deliveries, deleted."""
    with live.client() as scimitar:
        created = scimitar.create_webhook("https://hooks.example.com/scimitar", events=["*"])
        assert created["secret"]
        assert scimitar.get_webhook(created["id"]) == {
            k: v for k, v in created.items() if k != "secret"
        }
        updated = scimitar.update_webhook(created["id"], enabled=False)
        assert updated["enabled"] is False
        assert [w["id"] for w in scimitar.list_webhooks()] == [created["id"]]
        assert scimitar.list_deliveries(created["id"]) == []
        scimitar.delete_webhook(created["id"])
        with pytest.raises(NotFound):
            scimitar.get_webhook(created["id"])


def test_feed_iterates_and_resumes(live: Live) -> None:
    """The feed yields events in order; a new iterator started from the last seq seen
    yields only what came after; a follower long-polls and wakes on a change."""
    with live.client() as scimitar:
        scimitar.create_project("First")
        seen = list(scimitar.events(follow=False))
        assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
        assert "project.created" in [e["type"] for e in seen]
        last = seen[-1]["seq"]
        scimitar.create_project("Second")
        resumed = list(scimitar.events(after=last, follow=False))
        assert resumed[0]["seq"] == last + 1
        assert {e["data"].get("name") for e in resumed if e["type"] == "project.created"} == {
            "Second"
        }
        last = resumed[-1]["seq"]
        timer = threading.Timer(0.5, lambda: live.add_user("late@example.com"))
        began = time.monotonic()
        timer.start()
        follower = scimitar.events(after=last, wait=10)
        woke = next(follower)
        timer.join()
        assert woke["seq"] == last + 1 and woke["type"] == "member.created"
        assert time.monotonic() - began < 8  # woken by the change, not by the wait's end


class _Counting(httpx.HTTPTransport):
    """httpx's own transport, counting what it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.method)
        return super().handle_request(request)


def test_only_safe_requests_are_retried_after_a_connection_failure() -> None:
    """Nothing listens: a POST is sent once and raises; a GET is sent 1 + 2 times."""
    transport = _Counting()
    retries = Retries(attempts=2, backoff=0.01)
    with Client("http://127.0.0.1:9", "sat-x", retries=retries, transport=transport) as client:
        with pytest.raises(ConnectionFailed):
            client.create_project("Never")
        assert transport.sent == ["POST"]
        with pytest.raises(ConnectionFailed):
            client.list_projects()
        assert transport.sent == ["POST", "GET", "GET", "GET"]
