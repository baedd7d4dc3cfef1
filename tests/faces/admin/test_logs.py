"""The audit and provisioning logs over the admin API: newest first, filtered, cursor pages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.faces.admin.helpers import Site
from tests.faces.scim.harness import FIXTURES


def test_audit_log_newest_first_with_cursor(site: Site) -> None:
    """Pages follow `next_before` without gaps or repeats until it is null."""
    for name in ("A", "B", "C", "D", "E"):
        site.api.post("/roles", {"name": name})
    seen: list[str] = []
    path = "/audit-log?action=role.created&limit=2"
    page = site.api.get(path)
    while True:
        seen += [e["after"]["name"] for e in page["entries"]]
        if page["next_before"] is None:
            break
        page = site.api.get(f"{path}&before={page['next_before']}")
    assert seen == ["E", "D", "C", "B", "A"]


def test_audit_log_filters(site: Site) -> None:
    """Filters by action prefix, actor kind, resource type and resource id."""
    project = site.api.post("/projects", {"name": "Checkout"})
    entries = site.api.get(f"/audit-log?resource_id={project['id']}")["entries"]
    assert [e["action"] for e in entries] == ["project.created"]
    kinds = {
        e["actor_kind"] for e in site.api.get("/audit-log?actor_kind=cli&limit=200")["entries"]
    }
    assert kinds == {"cli"}
    groups = site.api.get("/audit-log?resource_type=group&limit=200")["entries"]
    assert len(groups) == 4 and all(e["action"] == "group.created" for e in groups)
    assert site.api.get("/audit-log?action=nothing.")["entries"] == []
    site.api.get("/audit-log?actor_kind=robot", expect=400)
    site.api.get("/audit-log?before=-1", expect=400)


def test_audit_log_is_per_org(site: Site) -> None:
    """globex's changes never show in acme's audit log."""
    ids = {e["resource_id"] for e in site.api.get("/audit-log?limit=200")["entries"]}
    assert site.other.id not in ids
    assert site.org.id in ids


def test_provisioning_log_records_scim_requests(site: Site) -> None:
    """Every SCIM request of the org is listed newest first, filterable by method, status
    class and path, with error detail and a redacted body."""
    site.scim(
        "POST",
        "/Users",
        body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "password": "hunter2hunter2",
        },
    )
    site.scim("GET", "/Users/missing")
    site.scim("GET", "/Users", key=site.other_scim_key)
    site.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    page = site.api.get("/provisioning-log")
    assert [(e["method"], e["status"]) for e in page["entries"]] == [("GET", 404), ("POST", 201)]
    created = site.api.get("/provisioning-log?method=POST")["entries"][0]
    assert "hunter2" not in created["request_body"] and "ada@example.com" in created["request_body"]
    [missing] = site.api.get("/provisioning-log?status=4xx")["entries"]
    assert missing["path"] == "/scim/Users/missing" and missing["detail"]
    assert site.api.get("/provisioning-log?path=/Users/missing")["entries"] == [missing]
    assert site.api.get(f"/provisioning-log?before={missing['id']}")["entries"] == [created]
    site.api.get("/provisioning-log?status=6xx", expect=400)


@pytest.mark.parametrize(
    "query",
    [
        "/audit-log?before=²",
        "/audit-log?before=99999999999999999999999999999",
        "/provisioning-log?before=%D9%A3",
        "/audit-log?limit=²",
        "/provisioning-log?limit=99999999999999999999",
    ],
)
def test_numbers_that_are_not_ascii_or_too_large_are_400(site: Site, query: str) -> None:
    """A query number must be ASCII digits within range: anything else is a 400, never a 500."""
    body = site.api.get(query, expect=400)
    assert body["error"]["code"] == "bad_request"


def test_a_dry_run_entry_carries_what_it_would_have_done(site: Site) -> None:
    """Automation sees a dry run's would-be events in the entry, as the console does; a
    live entry says it was live and points to its committed events instead."""
    site.scim("POST", "/Users", body={"userName": "live@example.com"})
    site.api.patch("/org", {"provisioning_mode": "dry_run"})
    site.scim("POST", "/Users", body={"userName": "dry@example.com"})
    site.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    dry, live = site.api.get("/provisioning-log?method=POST")["entries"]
    assert dry["dry_run"] is True and live["dry_run"] is False and live["changes"] is None
    assert [c["type"] for c in dry["changes"]] == ["member.created"]
    assert dry["changes"][0]["data"]["userName"] == "dry@example.com"

    def events_of(entry_id: int) -> list[str]:
        found = site.api.get(f"/provisioning-log/{entry_id}/events")
        assert found["request_id"] == entry_id
        return [e["type"] for e in found["events"]]

    assert events_of(dry["id"]) == [] and events_of(live["id"]) == ["member.created"]


def _okta_deactivation() -> dict[str, Any]:
    """Okta's deactivation, as its CRUD test sends it (a pathless PATCH of `active`)."""
    flow = json.loads((FIXTURES / "okta-crud-user-lifecycle.json").read_text())["steps"]
    [first, *_] = [
        step["request"]["body"]
        for step in flow
        if step["request"]["method"] == "PATCH"
        and step["request"]["body"]["Operations"][0]["value"] == {"active": False}
    ]
    body: dict[str, Any] = first
    return body


def test_an_okta_deactivation_out_of_groups_lists_each_group_left(site: Site) -> None:
    """Okta deactivates a member of three groups: its provisioning-log entry links to each
    `group.member_removed` (one events row holds them: a run), and the feed gives them one
    by one, from any cursor (issue 14)."""
    ada = site.scim("POST", "/Users", body={"userName": "ada@example.com"}).json()["id"]
    group_ids = [
        site.scim(
            "POST",
            "/Groups",
            body={"displayName": name, "members": [{"value": ada}]},
        ).json()["id"]
        for name in ("Staff", "Ops", "Web")
    ]
    assert site.scim("PATCH", f"/Users/{ada}", body=_okta_deactivation()).status_code == 200
    site.client.app.state.request_log.flush()  # type: ignore[attr-defined]
    [entry] = site.api.get("/provisioning-log?method=PATCH")["entries"]
    linked = site.api.get(f"/provisioning-log/{entry['id']}/events")["events"]
    removed = [e for e in linked if e["type"] == "group.member_removed"]
    assert [e["resource"]["id"] for e in removed] == group_ids
    assert {e["request_id"] for e in linked} == {entry["id"]}
    assert "member.deactivated" in [e["type"] for e in linked]
    seqs = [e["seq"] for e in removed]
    assert seqs == list(range(seqs[0], seqs[0] + 3)) and len({e["id"] for e in removed}) == 3
    rest = site.api.get(f"/events?after={seqs[0]}&types=group.member_removed")["events"]
    assert [e["id"] for e in rest] == [e["id"] for e in removed[1:]]
