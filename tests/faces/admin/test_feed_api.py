"""GET /api/v1/events: the feed over HTTP, in order, resumable, filtered, long-polled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, organizations, people, structure
from scimitar.domain.identity import keys
from scimitar.domain.models import GroupKind, Org
from scimitar.storage.database import Database
from tests.domain.events.helpers import write
from tests.domain.helpers import make_member
from tests.faces.scim.harness import live_server, make_org, start


@dataclass
class Api:
    client: TestClient
    db: Database
    org: Org
    scim_key: str
    token: str

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.client.get(path, headers=headers)

    def feed_of(self, query: str = "") -> dict[str, Any]:
        response = self.get(f"/api/v1/events{query}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def api_token(db: Database, org: Org) -> str:
    with write(db) as tx:
        token, _ = keys.create_api_token(tx, org, "feed")
    return token


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    client, db = start(db_url)
    with client:
        org, scim_key = make_org(db)
        yield Api(client, db, org, scim_key, api_token(db, org))
    db.dispose()


def test_feed_reads_in_order_and_resumes_after_a_seq(api: Api) -> None:
    """Pages come in seq order; `next_after` resumes exactly where the last page ended."""
    with write(api.db) as tx:
        for i in range(5):
            make_member(tx, api.org, f"u{i}@example.com")
    everything = api.feed_of("?limit=1000")["events"]
    seqs = [e["seq"] for e in everything]
    assert seqs == list(range(1, len(seqs) + 1))
    first = api.feed_of("?limit=3")
    assert [e["seq"] for e in first["events"]] == [1, 2, 3] and first["next_after"] == 3
    rest = api.feed_of(f"?after={first['next_after']}&limit=1000")
    assert [e["seq"] for e in rest["events"]] == seqs[3:]
    empty = api.feed_of(f"?after={seqs[-1]}")
    assert empty == {"events": [], "next_after": seqs[-1]}
    event = everything[-1]
    assert set(event) >= {"id", "seq", "type", "time", "actor", "data", "resource"}
    assert event["type"] == "member.created" and event["data"]["userName"] == "u4@example.com"


def test_types_filter_exact_and_family(api: Api) -> None:
    """`types` keeps the listed types; `family.*` keeps a whole family."""
    with write(api.db) as tx:
        make_member(tx, api.org, "a@example.com")
        organizations.update_settings(tx, api.org, name="Renamed")
    only = api.feed_of("?types=org.updated")["events"]
    assert [e["type"] for e in only] == ["org.updated"]
    family = api.feed_of("?types=member.*,scim_key.generated")["events"]
    assert {e["type"] for e in family} == {"member.created", "member.updated", "scim_key.generated"}


def test_feed_needs_a_valid_token_of_the_org(api: Api, db_url: str) -> None:
    """No token or a wrong one: 401. Another org's token reads only that org's feed."""
    missing = api.client.get("/api/v1/events")
    assert missing.status_code == 401
    # The same error wire as the rest of /api/v1: JSON body and a WWW-Authenticate.
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/api/v1/events", token="sat-wrong").status_code == 401
    assert api.get("/api/v1/events", token=api.scim_key).status_code == 401
    with write(api.db) as tx:
        other = organizations.create_org(tx, name="Other", slug="other", owner_email="o@other.test")
        token, _ = keys.create_api_token(tx, other, "x")
    mine = {e["id"] for e in api.feed_of("?limit=1000")["events"]}
    theirs = api.get("/api/v1/events?limit=1000", token=token).json()["events"]
    assert [e["type"] for e in theirs] == ["org.created", "member.created", "api_token.created"]
    assert not mine & {e["id"] for e in theirs}


def test_bad_parameters_are_400(api: Api) -> None:
    """A non-integer `after`, a `limit` out of range or a `wait` too long: 400."""
    for query in ("?after=x", "?limit=0", "?limit=100000", "?wait=600", "?wait=soon"):
        assert api.get(f"/api/v1/events{query}").status_code == 400, query


def test_scim_changes_are_attributed_to_the_scim_key(api: Api) -> None:
    """A SCIM POST /Users produces member.created whose actor is the SCIM key."""
    after = api.feed_of("?limit=1000")["next_after"]
    response = api.client.post(
        "/scim/Users",
        json={"userName": "scim@example.com", "emails": [{"value": "scim@example.com"}]},
        headers={"Authorization": f"Bearer {api.scim_key}"},
    )
    assert response.status_code == 201
    [event] = api.feed_of(f"?after={after}")["events"]
    assert event["type"] == "member.created"
    assert event["actor"]["kind"] == "scim_key" and event["actor"]["id"] is not None
    assert event["resource"] == {"type": "member", "id": response.json()["id"], "version": 1}


def test_member_history_lists_a_members_events(api: Api) -> None:
    """GET /api/v1/members/{id}/events: the member's own events in order."""
    with write(api.db) as tx:
        member = make_member(tx, api.org, "h@example.com")
    with write(api.db) as tx:
        people.set_active(tx, api.org, member, False)
    response = api.get(f"/api/v1/members/{member.id}/events")
    assert [e["type"] for e in response.json()["events"]] == [
        "member.created",
        "member.deactivated",
    ]
    assert api.get("/api/v1/members/nope/events").status_code == 404


def test_long_poll_returns_within_a_second_of_a_commit(db: Database) -> None:
    """`wait=10` answers as soon as a change commits (well under a second), not at the end."""
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(tx, name="Acme", slug="acme", owner_email="o@example.com")
        token, _ = keys.create_api_token(tx, org, "poll")
        last = 3
    answered: dict[str, Any] = {}
    with live_server(db) as base:

        def poll() -> None:
            response = httpx.get(
                f"{base}/api/v1/events?after={last}&wait=10",
                headers={"Authorization": f"Bearer {token}"},
                timeout=20,
            )
            answered["at"] = time.monotonic()
            answered["body"] = response.json()

        thread = threading.Thread(target=poll)
        thread.start()
        time.sleep(0.5)
        with db.write() as conn:
            make_member(Tx(conn, CLI_ACTOR), org, "late@example.com")
        committed = time.monotonic()
        thread.join(timeout=15)
    assert [e["type"] for e in answered["body"]["events"]] == ["member.created"]
    assert answered["at"] - committed < 1.0


def _custom_group(api: Api) -> tuple[str, str]:
    with write(api.db) as tx:
        group = group_store.insert_group(tx, api.org, GroupKind.CUSTOM, "Engineering")
        project = structure.create_project(tx, api.org, "Checkout")
    return group.id, project.id


@pytest.mark.parametrize(
    "body",
    [
        {"project_id": "x"},
        {"project_id": "x", "role_id": "y"},
        {"project_id": "{project}"},
        {"project_id": "{project}", "role_id": "nope"},
        {"project_id": "{project}", "team_id": "nope", "team_role": "Member"},
        {"project_id": "{project}", "role_id": 5},
        {"project_id": "{project}", "role_id": ["a"]},
        {"project_id": "{project}", "team_id": {"a": 1}, "team_role": "Admin"},
        {"project_id": "{project}", "team_id": "t", "team_role": ["Admin"]},
        {"project_id": 5},
        {"grant_id": "nope", "action": "remove"},
        {"grant_id": 5, "action": "remove"},
        {"project_id": "{project}", "action": 7},
    ],
)
def test_grant_preview_refuses_bad_grants_with_a_json_error(api: Api, body: dict[str, Any]) -> None:
    """A grant preview validates the grant like attaching it would: 4xx JSON, never 500."""
    group_id, project_id = _custom_group(api)
    sent = {k: project_id if v == "{project}" else v for k, v in body.items()}
    response = api.client.post(
        f"/api/v1/groups/{group_id}/grants/preview",
        json=sent,
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()["error"]) == {"code", "detail"}


@pytest.mark.parametrize("entry_id", ["1" * 30, str(2**63), "²", "-1", "0x10"])
def test_request_events_with_an_impossible_entry_id_is_not_found(api: Api, entry_id: str) -> None:
    """A provisioning-log entry id that is not a small decimal number is a 404, never a 500."""
    response = api.get(f"/api/v1/provisioning-log/{entry_id}/events")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
