"""One admin pipeline: the feed, webhook and grant-preview endpoints run through the same
authentication, bookkeeping and error mapping as every other admin API endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from scimitar.storage.tables import api_tokens
from tests.faces.admin.helpers import Site


def _age_token(site: Site) -> None:
    with site.db.write() as conn:
        conn.execute(update(api_tokens).values(last_used=datetime.now(UTC) - timedelta(hours=1)))


def _last_used(site: Site) -> datetime:
    with site.db.read() as conn:
        [used] = conn.execute(select(api_tokens.c.last_used)).scalars()
    return used if used.tzinfo else used.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "call",
    [
        ("GET", "/events"),
        ("GET", "/webhooks"),
        ("POST", "/webhooks"),
        ("POST", "/groups/{group}/grants/preview"),
    ],
)
def test_feed_and_webhook_calls_refresh_last_used(site: Site, call: tuple[str, str]) -> None:
    """A token's `last_used` is refreshed by the feed, webhook and preview endpoints too."""
    method, path = call
    created = site.api.post("/projects", {"name": "Web"})
    role = site.api.get("/roles")["roles"][0]["id"]
    group = site.scim("POST", "/Groups", body={"displayName": "Engineering"}).json()["id"]
    _age_token(site)
    body = {"POST": {"url": "https://hooks.example.com/in", "events": ["*"]}}.get(method)
    if "preview" in path:
        body = {"project_id": created["id"], "role_id": role}
    response = site.client.request(
        method,
        "/api/v1" + path.format(group=group),
        json=body,
        headers={"Authorization": f"Bearer {site.token}"},
    )
    assert response.status_code < 300, response.text
    assert datetime.now(UTC) - _last_used(site) < timedelta(minutes=1)


def test_a_grant_error_has_one_status_on_every_endpoint(site: Site) -> None:
    """The same bad grant field is answered alike by assignments, grants and the preview."""
    member = site.api.get("/members")["members"][0]["id"]
    project = site.api.post("/projects", {"name": "Web"})["id"]
    custom = site.scim("POST", "/Groups", body={"displayName": "Engineering"}).json()["id"]
    targets = [
        f"/members/{member}/assignments",
        f"/groups/{custom}/grants",
        f"/groups/{custom}/grants/preview",
    ]
    bad_bodies = [
        {"project_id": project, "team_role": "Boss", "team_id": "x"},  # not a team role
        {"project_id": 7},  # not a string
        {"role_id": "x"},  # no project
    ]
    for body in bad_bodies:
        answers = {
            path: site.client.post(
                "/api/v1" + path, json=body, headers={"Authorization": f"Bearer {site.token}"}
            )
            for path in targets
        }
        statuses = {path: r.status_code for path, r in answers.items()}
        assert len(set(statuses.values())) == 1, (body, statuses)
        codes = {r.json()["error"]["code"] for r in answers.values()}
        assert len(codes) == 1, (body, codes)
