"""Webhook endpoints of an org, and the log of their deliveries.

An endpoint is a URL subscribed to event types (`["*"]`, exact types, or families such as
`member.*`), with a signing secret shown once at creation. Deliveries are created by the
delivery worker from the feed (domain.deliveries), starting with the first event after the
endpoint was created; see docs/events.md.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, delete, insert, select, update

from scimitar.domain.context import Tx, new_id
from scimitar.domain.errors import InvalidError, NotFoundError
from scimitar.domain.events import addresses, feed
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.identity.sealed_secrets import webhook_context
from scimitar.domain.identity.sealing import Sealer
from scimitar.domain.models import Org
from scimitar.domain.records import audit
from scimitar.storage.tables import (
    events,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)

SECRET_PREFIX = "whsec_"
MAX_ENDPOINTS = 50
MAX_TYPES = 100
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


@dataclass(frozen=True)
class Endpoint:
    id: str
    org_id: str
    url: str
    event_types: tuple[str, ...]
    enabled: bool
    created: datetime
    last_modified: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.event_types),
            "enabled": self.enabled,
            "created": self.created,
            "last_modified": self.last_modified,
        }


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: str
    event_id: str
    event_seq: int
    #: The events row that holds the event (`feed.events_by_row`).
    event_row_id: str
    state: str
    attempts: int
    next_attempt: datetime
    created: datetime
    completed: datetime | None
    log: tuple[Attempt, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_seq": self.event_seq,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt": self.next_attempt if self.state == "pending" else None,
            "created": self.created,
            "completed": self.completed,
            "log": [
                {
                    "at": a.at,
                    "status": a.status,
                    "latency_ms": a.latency_ms,
                    "error": a.error,
                    "response_excerpt": a.response_excerpt,
                }
                for a in self.log
            ],
        }


def _audited(endpoint: Endpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "events": list(endpoint.event_types), "enabled": endpoint.enabled}


def _endpoint(row: Row[Any]) -> Endpoint:
    return Endpoint(
        row.id,
        row.org_id,
        row.url,
        tuple(row.event_types),
        row.enabled,
        row.created,
        row.last_modified,
    )


def check_url(url: str) -> str:
    """An absolute http(s) URL with a valid host and port, without credentials. Whether its
    address may be reached: a literal address when the endpoint is made (`check_reachable_url`),
    every address a name resolves to at delivery (the worker's allow-list)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidError("url must be an http(s) URL of at most 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidError(f"url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidError("url must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidError("url must not contain credentials")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidError("url's port must be from 1 to 65535")
    ascii_host(parts.hostname)
    return url


def check_reachable_url(url: str, allow: AllowList) -> str:
    """`check_url`, and a host that is not an internal address in any spelling (unless
    allowed): refused when the endpoint is made, rather than at every delivery."""
    url = check_url(url)
    addresses.refuse_internal_host(urlsplit(url).hostname or "", allow)
    return url


def ascii_host(host: str) -> str:
    """The host as it goes on the wire (IDNA for a name, as is for an IP address literal)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    try:
        encoded = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidError(f"url's host {host!r} is not a valid host name") from None
    labels = encoded.split(".")
    if len(encoded) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidError(f"url's host {host!r} is not a valid host name")
    return encoded


def check_event_types(types: Any) -> tuple[str, ...]:
    """The subscribed types: a non-empty list of strings (a bare string is refused, not
    split into its characters)."""
    if not isinstance(types, list | tuple) or not types or len(types) > MAX_TYPES:
        raise InvalidError('events must be ["*"] or a non-empty list of event types')
    for event_type in types:
        if not isinstance(event_type, str) or not event_type or len(event_type) > 64:
            raise InvalidError(f"{event_type!r} is not an event type")
    return tuple(dict.fromkeys(types))


def create_endpoint(
    tx: Tx,
    org: Org,
    url: str,
    event_types: Any = ("*",),
    *,
    sealer: Sealer,
    allow: AllowList | None = None,
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (shown once; stored sealed). It receives the
    events committed after it. `allow`: the internal hosts it may reach
    (`SCIMITAR_WEBHOOK_ALLOWED_HOSTS`, read in `config`); none when not given."""
    url = check_reachable_url(url, allow or AllowList())
    types = check_event_types(event_types)
    count = len(list_endpoints(tx, org))
    if count >= MAX_ENDPOINTS:
        raise InvalidError(f"An organization can have at most {MAX_ENDPOINTS} webhook endpoints")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint_id = new_id()
    tx.conn.execute(
        insert(webhook_endpoints).values(
            id=endpoint_id,
            org_id=org.id,
            url=url,
            secret=sealer.seal(secret, context=webhook_context(endpoint_id)),
            event_types=list(types),
            enabled=True,
            cursor_seq=feed.last_seq(tx, org.id),
            created=tx.now,
            last_modified=tx.now,
        )
    )
    endpoint = get_endpoint(tx, org, endpoint_id)
    audit.record(tx, org.id, "webhook.created", "webhook", endpoint_id, after=_audited(endpoint))
    return endpoint, secret


def get_endpoint(tx: Tx, org: Org, endpoint_id: str) -> Endpoint:
    row = tx.conn.execute(
        select(webhook_endpoints).where(
            webhook_endpoints.c.org_id == org.id, webhook_endpoints.c.id == endpoint_id
        )
    ).first()
    if row is None:
        raise NotFoundError(f"Webhook endpoint {endpoint_id} not found")
    return _endpoint(row)


def list_endpoints(tx: Tx, org: Org) -> list[Endpoint]:
    rows = tx.conn.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.org_id == org.id)
        .order_by(webhook_endpoints.c.created, webhook_endpoints.c.id)
    )
    return [_endpoint(row) for row in rows]


def update_endpoint(
    tx: Tx,
    org: Org,
    endpoint: Endpoint,
    *,
    url: str | None = None,
    event_types: Any = None,
    enabled: bool | None = None,
    allow: AllowList | None = None,
) -> Endpoint:
    """Change the URL, the subscribed types or enabled. Re-enabling resumes from now: the
    events committed while it was disabled are not delivered (the feed still has them)."""
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = check_reachable_url(url, allow or AllowList())
    if event_types is not None:
        values["event_types"] = list(check_event_types(event_types))
    if enabled is not None and enabled != endpoint.enabled:
        values["enabled"] = enabled
        if enabled:
            values["cursor_seq"] = feed.last_seq(tx, org.id)
    if not values:
        return endpoint
    tx.conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint.id)
        .values(last_modified=tx.now, **values)
    )
    updated = get_endpoint(tx, org, endpoint.id)
    audit.record(
        tx,
        org.id,
        "webhook.updated",
        "webhook",
        endpoint.id,
        before=_audited(endpoint),
        after=_audited(updated),
    )
    return updated


def delete_endpoint(tx: Tx, org: Org, endpoint: Endpoint) -> None:
    """Remove an endpoint with its deliveries and their log."""
    tx.conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id))
    audit.record(tx, org.id, "webhook.deleted", "webhook", endpoint.id, before=_audited(endpoint))


def _delivery(row: Row[Any], log: tuple[Attempt, ...] = ()) -> Delivery:
    return Delivery(
        row.id,
        row.endpoint_id,
        feed.event_id_in_row(row.event_id, row.row_seq, row.run, row.event_seq),
        row.event_seq,
        row.event_id,
        row.state,
        row.attempts,
        row.next_attempt,
        row.created,
        row.completed,
        log,
    )


#: Deliveries with what names their event: the seq and run of the events row that holds it.
_DELIVERIES = select(webhook_deliveries, events.c.seq.label("row_seq"), events.c.run).join(
    events, events.c.id == webhook_deliveries.c.event_id
)


def list_deliveries(
    tx: Tx, org: Org, endpoint: Endpoint, *, limit: int = 50, state: str | None = None
) -> list[Delivery]:
    """The endpoint's newest deliveries first, each with its attempts log."""
    query = _DELIVERIES.where(
        webhook_deliveries.c.org_id == org.id, webhook_deliveries.c.endpoint_id == endpoint.id
    )
    if state is not None:
        query = query.where(webhook_deliveries.c.state == state)
    rows = tx.conn.execute(query.order_by(webhook_deliveries.c.event_seq.desc()).limit(limit))
    found = list(rows)
    logs = _attempts(tx, [row.id for row in found])
    return [_delivery(row, tuple(logs.get(row.id, []))) for row in found]


def get_delivery(tx: Tx, org: Org, delivery_id: str) -> Delivery:
    row = tx.conn.execute(
        _DELIVERIES.where(
            webhook_deliveries.c.org_id == org.id, webhook_deliveries.c.id == delivery_id
        )
    ).first()
    if row is None:
        raise NotFoundError(f"Delivery {delivery_id} not found")
    return _delivery(row, tuple(_attempts(tx, [row.id]).get(row.id, [])))


def _attempts(tx: Tx, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
    if not delivery_ids:
        return {}
    rows = tx.conn.execute(
        select(webhook_attempts)
        .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
        .order_by(webhook_attempts.c.id)
    )
    found: dict[str, list[Attempt]] = {}
    for row in rows:
        found.setdefault(row.delivery_id, []).append(
            Attempt(row.at, row.status, row.latency_ms, row.error, row.response_excerpt)
        )
    return found


def resend(tx: Tx, org: Org, delivery: Delivery) -> Delivery:
    """Send a delivery again as soon as a worker is free, whatever its state (the re-send
    button). Its attempts log is kept; a delivery being sent right now is left alone."""
    tx.conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == delivery.id,
            (webhook_deliveries.c.locked_until.is_(None))
            | (webhook_deliveries.c.locked_until < tx.now),
        )
        .values(state="pending", next_attempt=tx.now, completed=None, locked_until=None)
    )
    audit.record(
        tx,
        org.id,
        "webhook.resent",
        "webhook",
        delivery.endpoint_id,
        after={"delivery": delivery.id},
    )
    return get_delivery(tx, org, delivery.id)
