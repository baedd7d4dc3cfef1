"""Operations: Prometheus metrics at `/metrics`, and the optional access log.

Every request is counted by face (`scim`, `api`, `console`, `ops`, `other`), method and
status, and timed by face; the database is read at scrape time for what the workers have
yet to do. Nothing here is per org or per user: labels stay few whatever the data.

With `scimitar serve --workers N` each process counts its own requests into files of a
directory shared by all (prometheus_client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`),
and a scrape of any process answers for all of them.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.events import deliveries
from scimitar.storage.database import Database

#: Where prometheus_client keeps the counts of several processes.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: Request durations, in seconds: from a point read to a 10 000-member replace.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_OPS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = logging.getLogger("scimitar.access")
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


_SETUP_LINK = re.compile(r"^(/console/setup-links/)[^/]+$")


def without_secrets(path: str) -> str:
    """A path fit for a log: a setup link's URL carries its secret, which is cut out."""
    return _SETUP_LINK.sub(r"\1…", path)


def face_of(path: str) -> str:
    """Which part of Scimitar a path belongs to (a label with a handful of values)."""
    if path == "/scim" or path.startswith("/scim/"):
        return "scim"
    if path.startswith("/api/"):
        return "api"
    if path == "/console" or path.startswith("/console/"):
        return "console"
    return "ops" if path in _OPS else "other"


class _DatabaseCollector(Collector):
    """Read at each scrape: whether the database answers, and the webhook backlog."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "scimitar_database_up", "1 when the database answered this scrape's queries"
        )
        try:
            with self.db.read() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                org_count = organizations.count_orgs(tx)
                backlog = deliveries.backlog(tx)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("scimitar_orgs", "Organizations", value=org_count)
        yield GaugeMetricFamily(
            "scimitar_webhook_unexamined_events",
            "Events the delivery workers have yet to examine, once per enabled endpoint",
            value=backlog.unexamined,
        )
        yield GaugeMetricFamily(
            "scimitar_webhook_pending_deliveries",
            "Webhook deliveries waiting for their first or next attempt",
            value=backlog.pending,
        )
        age = 0.0
        if backlog.oldest_pending is not None:
            age = max(0.0, (datetime.now(UTC) - backlog.oldest_pending).total_seconds())
        yield GaugeMetricFamily(
            "scimitar_webhook_oldest_pending_delivery_seconds",
            "Age of the oldest pending webhook delivery (0 when none is pending)",
            value=age,
        )


class Metrics:
    """One app's metrics. Each app has its own registry (tests build many apps in one
    process; the global registry would refuse the second)."""

    def __init__(self, db: Database, token: str | None = None) -> None:
        self.token = token
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "scimitar_http_requests",
            "HTTP requests answered, by face, method and status",
            ["face", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "scimitar_http_request_duration_seconds",
            "Time to answer an HTTP request, by face",
            ["face"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        # Only the rate limiter answers 429 (`rate_limits`).
        self.limited = Counter(
            "scimitar_rate_limited_requests",
            "Requests refused with 429 for going over a rate limit, by face",
            ["face"],
            registry=self.registry,
        )
        self._database = _DatabaseCollector(db)
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        if not self.multiprocess:  # a process's own figures mean nothing summed over several
            self.registry.register(ProcessCollector(registry=None))
            self.registry.register(self._database)
        # Label children resolved once: `labels()` costs more than the count itself.
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[str, Histogram] = {}

    def observe(self, face: str, method: str, status: int, seconds: float) -> None:
        key = (face, method, status)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.requests.labels(face, method, str(status))
        counter.inc()
        if status == 429:
            self.limited.labels(face).inc()
        timer = self._timed.get(face)
        if timer is None:
            timer = self._timed[face] = self.duration.labels(face)
        timer.observe(seconds)

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._database)
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        """`GET /metrics`; with `SCIMITAR_METRICS_TOKEN` set, only for that bearer token."""
        if self.token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return Response(
                    "Send 'Authorization: Bearer <SCIMITAR_METRICS_TOKEN>'\n",
                    401,
                    {"WWW-Authenticate": 'Bearer realm="metrics"'},
                    media_type="text/plain",
                )
        # In the thread pool: the scrape reads the database, which may be slow or down, and
        # the event loop must go on answering `/healthz` meanwhile.
        body = await run_in_threadpool(self.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request; writes the access log when
    it is on (`SCIMITAR_ACCESS_LOG`). A request that fails before answering counts as the
    500 the server then sends."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            elapsed = time.perf_counter() - started
            path: str = scope["path"]
            method: str = scope["method"]
            face = face_of(path)
            self.metrics.observe(face, method if method in _METHODS else "other", status, elapsed)
            if self.log_requests:
                # The path only: query strings carry people's names and email addresses.
                # Control characters escaped: a decoded `%0A` must not start a forged line.
                path = path.translate(_ESCAPES) if not path.isprintable() else path
                path = without_secrets(path)
                access_log.info(
                    "%s %s %d %.1f ms",
                    method,
                    path,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": method,
                        "path": path,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "face": face,
                    },
                )
