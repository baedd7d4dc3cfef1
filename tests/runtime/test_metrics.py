"""`/metrics`: requests counted by face, method and status; the webhook backlog read from
the database at each scrape; a token when the operator sets one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.domain.events import webhooks
from scimitar.domain.identity.sealing import Sealer
from scimitar.faces.app import create_app
from scimitar.runtime.metrics import Metrics, RequestMetrics, face_of
from scimitar.storage.database import Database
from tests.faces.scim.harness import Scim


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], **labels: str) -> float:
    key = ("scimitar_http_requests_total", tuple(sorted(labels.items())))
    return scraped.get(key, 0.0)


def test_requests_are_counted_by_face_method_and_status(scim: Scim) -> None:
    """Each answered request adds one to its (face, method, status) and to its face's
    duration histogram; the scrape reads the database for the webhook backlog."""
    before = samples(scim.client.get("/metrics").text)
    assert scim.request("GET", '/Users?filter=userName eq "owner@example.com"').status_code == 200
    assert scim.request("GET", "/Users/nope").status_code == 404
    assert scim.request("POST", "/Users", {"userName": "m@example.com"}).status_code == 201
    assert scim.client.get("/healthz").status_code == 200
    response = scim.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    after = samples(response.text)
    for labels, added in [
        ({"face": "scim", "method": "GET", "status": "200"}, 1),
        ({"face": "scim", "method": "GET", "status": "404"}, 1),
        ({"face": "scim", "method": "POST", "status": "201"}, 1),
        ({"face": "ops", "method": "GET", "status": "200"}, 2),  # /healthz, the first scrape
    ]:
        assert requests(after, **labels) - requests(before, **labels) == added, labels
    count = ("scimitar_http_request_duration_seconds_count", (("face", "scim"),))
    assert after[count] - before.get(count, 0) == 3
    assert after[("scimitar_database_up", ())] == 1
    assert after[("scimitar_orgs", ())] == 1
    assert after[("scimitar_webhook_pending_deliveries", ())] == 0


def test_the_webhook_backlog_is_what_the_workers_have_yet_to_do(scim: Scim) -> None:
    """Events not yet examined for an enabled endpoint show up before any worker runs."""
    with scim.db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        webhooks.create_endpoint(
            tx, scim.org, "https://hooks.example.com/in", sealer=Sealer("k" * 40)
        )
        people.create_member(tx, scim.org, {"userName": "w@example.com"})
    scraped = samples(scim.client.get("/metrics").text)
    assert scraped[("scimitar_webhook_unexamined_events", ())] >= 1
    assert scraped[("scimitar_webhook_oldest_pending_delivery_seconds", ())] == 0


@pytest.fixture
def guarded(db: Database) -> Iterator[TestClient]:
    settings = Settings(database_url=db.url, metrics_token="metrics-s3cret")
    with TestClient(create_app(settings, db=db)) as client:
        yield client


def test_a_metrics_token_guards_the_endpoint(guarded: TestClient) -> None:
    """With `SCIMITAR_METRICS_TOKEN` set, a scrape without it (or with another) is 401."""
    assert guarded.get("/metrics").status_code == 401
    wrong = guarded.get("/metrics", headers={"Authorization": "Bearer metrics-other"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    right = guarded.get("/metrics", headers={"Authorization": "Bearer metrics-s3cret"})
    assert right.status_code == 200 and "scimitar_http_requests_total" in right.text


async def _fails(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug")


async def _receive() -> dict[str, object]:
    return {"type": "http.request", "body": b""}


async def _send(message: object) -> None:
    return None


def test_a_request_that_fails_before_answering_counts_as_a_500(db: Database) -> None:
    metrics = Metrics(db)
    middleware = RequestMetrics(_fails, metrics)
    scope = {"type": "http", "method": "BREW", "path": "/scim/Users", "headers": []}
    with pytest.raises(RuntimeError):
        asyncio.run(middleware(scope, _receive, _send))  # type: ignore[arg-type]
    scraped = samples(metrics.exposition().decode())
    assert requests(scraped, face="scim", method="other", status="500") == 1


@pytest.mark.parametrize(
    ("path", "face"),
    [
        ("/scim", "scim"),
        ("/scim/v2/Users", "scim"),
        ("/scimitar", "other"),
        ("/api/v1/members", "api"),
        ("/console/members", "console"),
        ("/healthz", "ops"),
        ("/metrics", "ops"),
        ("/favicon.ico", "other"),
    ],
)
def test_faces(path: str, face: str) -> None:
    assert face_of(path) == face
