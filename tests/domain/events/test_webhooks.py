"""Webhooks: endpoints over the API, signed deliveries, retries, the allow-list, re-send."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from scimitar import webhooks as signing
from scimitar.config import Settings
from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.directory import group_store
from scimitar.domain.events import deliveries, webhooks
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.events.deliveries import RetryPolicy
from scimitar.domain.identity import keys
from scimitar.domain.models import GroupKind, Org
from scimitar.faces.app import create_app
from scimitar.runtime.worker import DeliveryWorker, WorkerSettings
from scimitar.storage.database import Database
from scimitar.storage.tables import webhook_endpoints
from tests.domain.events.helpers import sealer, write
from tests.domain.events.receiver import Receiver, receiver
from tests.domain.helpers import make_member, make_org
from tests.faces.admin.helpers import Api
from tests.faces.scim.harness import start

FAST = RetryPolicy(base=timedelta(milliseconds=50), cap=timedelta(milliseconds=200))
LOCAL = AllowList.parse("127.0.0.1")


def worker(db: Database, *, allow: AllowList = LOCAL, retry: RetryPolicy = FAST) -> DeliveryWorker:
    settings = WorkerSettings(allowed_hosts=allow, retry=retry, poll_interval=0.02)
    return DeliveryWorker(db, settings, sealer=sealer(db))


def drain(work: DeliveryWorker, until: Any, timeout: float = 20) -> None:
    """Run worker rounds until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        if not work.run_once():
            time.sleep(0.02)


def endpoint_for(db: Database, org: Org, url: str, types: list[str] | None = None) -> str:
    seal = sealer(db)
    with write(db) as tx:
        _, secret = webhooks.create_endpoint(tx, org, url, types or ["*"], sealer=seal, allow=LOCAL)
    return secret


@pytest.fixture
def org(db: Database) -> Org:
    with write(db) as tx:
        return make_org(tx)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as started:
        yield started


@dataclass
class Hooks:
    """The webhooks API of a fresh org, called with an admin API token; every answer is
    checked against the OpenAPI document."""

    api: Api
    db: Database
    org: Org

    def allowing(self, hosts: str) -> Api:
        """The same org's API on a server whose SCIMITAR_WEBHOOK_ALLOWED_HOSTS is `hosts`."""
        settings = Settings(database_url=self.db.url, webhook_allowed_hosts=hosts)
        client = TestClient(create_app(settings, db=self.db), raise_server_exceptions=True)
        return Api(client, self.api.headers)


@pytest.fixture
def hooks(db_url: str) -> Iterator[Hooks]:
    client, db = start(db_url)
    with client:
        with write(db) as tx:
            org = make_org(tx)
            token, _ = keys.create_api_token(tx, org, "hooks")
        yield Hooks(Api(client, {"Authorization": f"Bearer {token}"}), db, org)
    db.dispose()


def _deliveries(db: Database, org: Org) -> list[webhooks.Delivery]:
    with db.read() as conn:
        tx = Tx(conn, SYSTEM_ACTOR)
        [endpoint] = webhooks.list_endpoints(tx, org)
        return webhooks.list_deliveries(tx, org, endpoint, limit=500)


def test_delivery_is_signed_and_verify_rejects_tampering(
    db: Database, org: Org, hook: Receiver
) -> None:
    """The receiver gets the event signed; verify accepts it, and refuses any altered body."""
    secret = endpoint_for(db, org, hook.url)
    with write(db) as tx:
        member = make_member(tx, org, "a@example.com")
    work = worker(db)
    drain(work, lambda: len(hook.received) == 1)
    work.stop()
    [got] = hook.received
    header = got.headers["Scimitar-Signature"]
    assert signing.verify(got.body, header, secret)
    event = json.loads(got.body)
    assert event["type"] == "member.created" and event["data"]["id"] == member.id
    assert got.headers["Scimitar-Event-Id"] == event["id"]
    tampered = got.body.replace(b"a@example.com", b"b@example.com")
    assert not signing.verify(tampered, header, secret)
    assert not signing.verify(got.body, header, "whsec_other")
    assert not signing.verify(got.body, header, secret, now=time.time() + 3600)


def test_three_failures_then_success_on_the_fourth_attempt(db: Database, org: Org) -> None:
    """500, 500, 500, then 200: delivered on the 4th attempt, every attempt logged."""
    with receiver([500, 500, 500]) as hook:
        endpoint_for(db, org, hook.url)
        with write(db) as tx:
            make_member(tx, org, "a@example.com")
        work = worker(db)
        drain(work, lambda: [d.state for d in _deliveries(db, org)] == ["succeeded"])
        work.stop()
    [delivery] = _deliveries(db, org)
    assert delivery.attempts == 4 and len(hook.received) == 4
    assert [a.status for a in delivery.log] == [500, 500, 500, 200]
    assert delivery.log[0].response_excerpt == "receiver says no"
    assert all(a.latency_ms >= 0 for a in delivery.log)
    assert len({r.headers["Scimitar-Event-Id"] for r in hook.received}) == 1


def test_gives_up_when_the_retry_window_closes(db: Database, org: Org) -> None:
    """A delivery still failing when its retry window has passed is marked failed."""
    with receiver([500] * 100) as hook:
        endpoint_for(db, org, hook.url)
        with write(db) as tx:
            make_member(tx, org, "a@example.com")
        closing = RetryPolicy(base=timedelta(milliseconds=20), give_up_after=timedelta(0))
        work = worker(db, retry=closing)
        drain(work, lambda: [d.state for d in _deliveries(db, org)] == ["failed"])
        work.stop()
    [delivery] = _deliveries(db, org)
    assert delivery.attempts == 1 and delivery.completed is not None


def test_loopback_refused_unless_allowed(db: Database, org: Org, hook: Receiver) -> None:
    """Without an allow-list entry a loopback URL is never contacted; the attempt says why."""
    endpoint_for(db, org, hook.url)
    with write(db) as tx:
        make_member(tx, org, "a@example.com")
    work = worker(db, allow=AllowList())
    drain(work, lambda: any(d.attempts for d in _deliveries(db, org)))
    work.stop()
    [delivery] = _deliveries(db, org)
    assert hook.received == []
    assert delivery.state == "pending" and delivery.log[0].status is None
    assert "internal address" in (delivery.log[0].error or "")


def test_subscription_picks_event_types(db: Database, org: Org, hook: Receiver) -> None:
    """An endpoint subscribed to `group.*` gets group events only, from its creation on."""
    with write(db) as tx:
        make_member(tx, org, "before@example.com")
    endpoint_for(db, org, hook.url, ["group.*"])
    with write(db) as tx:
        make_member(tx, org, "a@example.com")
        group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
    work = worker(db)
    drain(work, lambda: len(hook.received) == 1)
    work.run_once()
    work.stop()
    assert [json.loads(r.body)["type"] for r in hook.received] == ["group.created"]


def test_a_held_lease_keeps_other_workers_off(db: Database, org: Org, hook: Receiver) -> None:
    """A claimed delivery is not claimed again until its lease runs out (a crashed worker)."""
    endpoint_for(db, org, hook.url)
    with write(db) as tx:
        make_member(tx, org, "a@example.com")
    with write(db) as tx:
        deliveries.fan_out(tx)
    with db.write() as conn:
        first = deliveries.claim(Tx(conn, SYSTEM_ACTOR), limit=10, lease=timedelta(seconds=1))
    with db.write() as conn:
        second = deliveries.claim(Tx(conn, SYSTEM_ACTOR), limit=10, lease=timedelta(seconds=1))
    assert len(first) == 1 and second == []
    time.sleep(1.1)
    with db.write() as conn:
        third = deliveries.claim(Tx(conn, SYSTEM_ACTOR), limit=10, lease=timedelta(seconds=1))
    assert [j.delivery_id for j in third] == [first[0].delivery_id]
    lost = deliveries.Result(200, 1)
    with db.write() as conn:
        assert not deliveries.record(Tx(conn, SYSTEM_ACTOR), first[0], lost, FAST)


def test_webhooks_api_manages_endpoints_and_resends(
    hooks: Hooks,
) -> None:
    """POST → 201 with the secret once; GET lists without it; PATCH; re-send; DELETE."""
    api, db, org = hooks.allowing("127.0.0.1"), hooks.db, hooks.org  # the receiver
    with receiver() as hook:
        api.post("/webhooks", {"url": "ftp://x"}, expect=422)
        body = api.post("/webhooks", {"url": hook.url, "events": ["member.*"]})
        assert body["secret"].startswith("whsec_") and body["events"] == ["member.*"]
        listed = api.get("/webhooks")["webhooks"]
        assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
        assert api.get(f"/webhooks/{body['id']}") == listed[0]
        with write(db) as tx:
            make_member(tx, org, "a@example.com")
        work = worker(db)
        drain(work, lambda: len(hook.received) == 1)
        [delivery] = api.get(f"/webhooks/{body['id']}/deliveries")["deliveries"]
        assert delivery["state"] == "succeeded" and delivery["log"][0]["status"] == 200
        resent = api.post(f"/webhook-deliveries/{delivery['id']}/resend", expect=202)
        assert resent["state"] == "pending"
        drain(work, lambda: len(hook.received) == 2)
        work.stop()
        first, again = (json.loads(r.body)["id"] for r in hook.received)
        assert first == again
        patched = api.patch(f"/webhooks/{body['id']}", {"enabled": False})
        assert patched["enabled"] is False
        api.delete(f"/webhooks/{body['id']}")
        api.get(f"/webhooks/{body['id']}", expect=404)


BAD_URLS = ["http://example.com:99999/", "http://a..b.com/", f"http://{'a' * 64}.com/"]


def test_a_bad_url_fails_alone_and_others_are_delivered_once(
    db: Database, org: Org, hook: Receiver
) -> None:
    """An endpoint whose stored URL cannot be sent to is a failed attempt with a reason; the
    other orgs' deliveries go out, exactly once."""
    seal = sealer(db)
    with write(db) as tx:
        other = make_org(tx, slug="globex")
        for bad in BAD_URLS:
            endpoint, _ = webhooks.create_endpoint(
                tx, other, "http://placeholder.example/", sealer=seal
            )
            tx.conn.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint.id)
                .values(url=bad)
            )
    endpoint_for(db, org, hook.url)
    with write(db) as tx:
        make_member(tx, other, "x@example.com")
        make_member(tx, org, "a@example.com")

    def bad_attempts() -> list[webhooks.Delivery]:
        with db.read() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            return [
                d
                for e in webhooks.list_endpoints(tx, other)
                for d in webhooks.list_deliveries(tx, other, e)
            ]

    work = worker(db)
    drain(
        work,
        lambda: len(hook.received) == 1 and all(d.attempts for d in bad_attempts()),
    )
    for _ in range(3):
        work.run_once()
    work.stop()
    assert len(hook.received) == 1
    assert [d.state for d in _deliveries(db, org)] == ["succeeded"]
    failed = bad_attempts()
    assert len({d.endpoint_id for d in failed}) == len(BAD_URLS)
    for delivery in failed:
        assert delivery.state == "pending" and delivery.log[0].status is None
        assert "invalid URL" in (delivery.log[0].error or "")


@pytest.mark.parametrize("url", [*BAD_URLS, "http://exa mple.com/", "http://host:0/", 5])
def test_webhooks_api_refuses_bad_urls(hooks: Hooks, url: Any) -> None:
    """A URL with a port out of range, an empty or over-long label, or no valid host is 422."""
    refused = hooks.api.post("/webhooks", {"url": url}, expect=422)
    assert refused["error"]["code"] == "invalid"


@pytest.mark.parametrize("events", [5, None, "member.*", [5], {"a": 1}, []])
def test_webhooks_api_refuses_events_that_are_not_a_list_of_types(
    hooks: Hooks, events: Any
) -> None:
    """events must be a non-empty list of strings; anything else is a 422, never a 500."""
    api = hooks.api
    refused = api.post(
        "/webhooks", {"url": "https://hooks.example.com/x", "events": events}, expect=422
    )
    assert refused["error"]["code"] == "invalid"
    created = api.post("/webhooks", {"url": "https://hooks.example.com/x"})
    if events is not None:
        api.patch(f"/webhooks/{created['id']}", {"events": events}, expect=422)


def test_verify_refuses_a_timestamp_that_is_not_ascii_digits() -> None:
    """A signature header whose `t` is not ASCII digits (e.g. "²") fails to verify, not raise."""
    assert not signing.verify(b"{}", "t=²,v1=00", "whsec_x")
    assert not signing.verify(b"{}", "t=\u0663,v1=00", "whsec_x")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/x",
        "http://localhost:8000/x",
        "http://api.localhost/x",
    ],
)
def test_internal_addresses_are_refused_when_the_endpoint_is_made(hooks: Hooks, url: str) -> None:
    """An IP literal that is not global, or a localhost name, is 422 at creation and on
    PATCH (delivery would refuse it every time); allowed hosts pass; other names are only
    resolved at delivery."""
    api = hooks.api
    refused = api.post("/webhooks", {"url": url}, expect=422)
    assert "SCIMITAR_WEBHOOK_ALLOWED_HOSTS" in refused["error"]["detail"]
    fine = api.post("/webhooks", {"url": "https://hooks.example.com/x"})
    api.patch(f"/webhooks/{fine['id']}", {"url": url}, expect=422)
    host = url.split("//")[1].split("/")[0].rsplit(":", 1)[0].strip("[]")
    hooks.allowing(f"{host},::1/128").post("/webhooks", {"url": url})


def test_webhooks_api_reads_bodies_as_the_admin_api_does(hooks: Hooks) -> None:
    """Not JSON by its content type: 415; not an object: 400 (one body reader for /api/v1)."""
    client, headers = hooks.api.client, hooks.api.headers
    form = client.post(
        "/api/v1/webhooks",
        content=b"url=https://hooks.example.com/x",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"
    assert hooks.api.post("/webhooks", ["https://hooks.example.com/x"], expect=400)
