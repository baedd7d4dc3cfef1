"""The webhooks page: endpoints created (secret shown once), disabled, deleted; each
endpoint's delivery log with re-send; bad input refused with the domain's message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.events import deliveries, webhooks
from scimitar.domain.events.webhooks import Delivery, Endpoint
from tests.faces.admin.helpers import Site, add_member, sign_in
from tests.faces.console.forms import error_of, post

URL = "https://hooks.example.com/scimitar"


@pytest.fixture
def console(site: Site) -> Site:
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    return site


def _endpoints(site: Site) -> list[Endpoint]:
    with site.db.read() as conn:
        return webhooks.list_endpoints(Tx(conn, SYSTEM_ACTOR), site.org)


def _delivery(site: Site, delivery_id: str) -> Delivery:
    with site.db.read() as conn:
        return webhooks.get_delivery(Tx(conn, SYSTEM_ACTOR), site.org, delivery_id)


def _create(site: Site, events: str = "*") -> Endpoint:
    assert post(site, "/console/webhooks", url=URL, events=events).status_code == 200
    [endpoint] = _endpoints(site)
    return endpoint


def test_new_endpoint_shows_its_secret_exactly_once(console: Site) -> None:
    """Creation answers with the signing secret; no later page shows it again."""
    created = post(console, "/console/webhooks", url=URL, events="member.*, group.member_added")
    secret = re.search(r'id="webhook-secret" readonly value="(whsec_[^"]+)"', created.text)
    assert secret is not None
    [endpoint] = _endpoints(console)
    assert (endpoint.url, endpoint.event_types) == (URL, ("member.*", "group.member_added"))
    listing = console.client.get("/console/webhooks").text
    assert URL in listing and "member.*, group.member_added" in listing and "enabled" in listing
    assert secret.group(1) not in listing
    assert secret.group(1) not in console.client.get(f"/console/webhooks/{endpoint.id}").text
    actions = {e["action"]: e["actor"] for e in console.api.get("/audit-log?limit=200")["entries"]}
    assert actions["webhook.created"] == "owner@example.com"


def test_disable_enable_and_delete(console: Site) -> None:
    """Disable and enable change the endpoint; delete asks first, then removes it."""
    endpoint = _create(console)
    post(console, f"/console/webhooks/{endpoint.id}/enabled", enabled="no")
    assert not _endpoints(console)[0].enabled
    assert "disabled" in console.client.get("/console/webhooks").text
    post(console, f"/console/webhooks/{endpoint.id}/enabled", enabled="yes")
    assert _endpoints(console)[0].enabled
    confirm = console.client.get(f"/console/webhooks/{endpoint.id}/delete").text
    assert "Delete this webhook endpoint?" in confirm and URL in confirm
    deleted = post(console, f"/console/webhooks/{endpoint.id}/delete")
    assert "Webhook endpoint deleted" in deleted.text
    assert _endpoints(console) == []


def test_delivery_appears_and_resend_queues_it_again(console: Site) -> None:
    """An event after creation becomes a delivery row; Re-send makes it pending again."""
    endpoint = _create(console)
    add_member(console.db, console.org, "ada@example.com")
    with console.db.write() as conn:
        deliveries.fan_out(Tx(conn, SYSTEM_ACTOR))
    with console.db.write() as conn:
        [job] = deliveries.claim(Tx(conn, SYSTEM_ACTOR), limit=10, lease=timedelta(minutes=1))
    with console.db.write() as conn:
        result = deliveries.Result(200, 12, response_excerpt="thanks")
        assert deliveries.record(Tx(conn, SYSTEM_ACTOR), job, result, deliveries.RetryPolicy())
    page = console.client.get(f"/console/webhooks/{endpoint.id}").text
    assert "member.created" in page and "succeeded" in page
    assert "12 ms" in page and "thanks" in page
    assert _delivery(console, job.delivery_id).state == "succeeded"
    resent = post(console, f"/console/webhooks/{endpoint.id}/deliveries/{job.delivery_id}/resend")
    assert "Delivery queued to be sent again" in resent.text
    again = _delivery(console, job.delivery_id)
    assert (again.state, again.completed, again.attempts) == ("pending", None, 1)


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("ftp://hooks.example.com/", "*", "url must be an absolute http:// or https:// URL"),
        ("https://hooks.example.com:0/", "*", "url's port must be from 1 to 65535"),
        ("https://user:pw@hooks.example.com/", "*", "url must not contain credentials"),
        ("https://bad_host!.example/", "*", "is not a valid host name"),
        (URL, " , ", 'events must be ["*"] or a non-empty list of event types'),
        ("http://192.168.1.10/hook", "*", "url points at 192.168.1.10, an internal address"),
    ],
)
def test_bad_webhook_input_shows_the_message(
    console: Site, url: str, events: str, message: str
) -> None:
    """A URL or event list the domain refuses: its message on the page, nothing written."""
    response = post(console, "/console/webhooks", url=url, events=events)
    assert response.status_code == 422
    assert message in error_of(response.text)
    assert 'id="webhook-secret"' not in response.text
    assert _endpoints(console) == []
