"""Webhooks: the org's endpoints (create, enable/disable, delete) and each endpoint's
delivery log with re-send. A new endpoint's signing secret is shown once, on the page its
creation redirects to."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.errors import InvalidError
from scimitar.domain.events import feed, webhooks
from scimitar.domain.events.webhooks import Delivery, Endpoint
from scimitar.faces.console import once
from scimitar.faces.console.page import Action, Outcome, Page, Redirect, View
from scimitar.faces.web.views import iso

SECRET_EXPLAINED = (
    "Copy it now: it is not shown again. Your receiver checks each delivery's "
    "Scimitar-Signature header with it."
)
DELIVERIES_SHOWN = 50


def endpoint_view(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "created": iso(endpoint.created),
    }


def delivery_view(delivery: Delivery, event: feed.Event | None) -> dict[str, Any]:
    last = delivery.log[-1] if delivery.log else None
    return {
        "id": delivery.id,
        "event_type": event.type if event else None,
        "seq": delivery.event_seq,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "status": last.status if last else None,
        "latency_ms": last.latency_ms if last else None,
        "excerpt": (last.response_excerpt or last.error) if last else None,
        "created": iso(delivery.created),
    }


def load_webhooks(view: View, tx: Tx) -> dict[str, Any]:
    endpoints = [endpoint_view(e) for e in webhooks.list_endpoints(tx, view.session.org)]
    new_secret, already_shown = view.secret_shown(once.WEBHOOK_SECRET)
    made = view.arg("endpoint")
    return {
        "endpoints": endpoints,
        "new_secret": new_secret,
        "secret_already_shown": already_shown,
        "new_endpoint": next((e for e in endpoints if e["id"] == made), None),
        "secret_explained": SECRET_EXPLAINED,
    }


WEBHOOKS = Page("webhooks.html", load_webhooks, "webhooks")


def load_webhook(view: View, tx: Tx) -> dict[str, Any]:
    org = view.session.org
    endpoint = webhooks.get_endpoint(tx, org, view.params["endpoint_id"])
    found = webhooks.list_deliveries(tx, org, endpoint, limit=DELIVERIES_SHOWN)
    bodies = feed.events_by_row(tx, [(d.event_row_id, d.event_seq) for d in found])
    return {
        "endpoint": endpoint_view(endpoint),
        "deliveries": [delivery_view(d, bodies.get((d.event_row_id, d.event_seq))) for d in found],
        "shown": DELIVERIES_SHOWN,
    }


WEBHOOK = Page("webhook.html", load_webhook, "webhooks")
DELETE_WEBHOOK = Page("webhook_delete.html", load_webhook, "webhooks")


def _endpoint_path(view: View) -> str:
    return f"/console/webhooks/{view.params['endpoint_id']}"


def event_types(raw: str) -> list[str]:
    """`*` or a comma- or space-separated list, as typed in the form."""
    return [t for t in raw.replace(",", " ").split() if t]


def create_webhook(view: View, tx: Tx) -> Outcome:
    url = view.field("url", required="Enter the URL that receives the deliveries").strip()
    endpoint, secret = webhooks.create_endpoint(
        tx,
        view.session.org,
        url,
        event_types(view.field("events")),
        sealer=view.sealer,
        allow=view.webhook_hosts,
    )
    # The secret goes to the page in a sealed cookie, shown once: never put in a URL.
    path = f"/console/webhooks?endpoint={endpoint.id}"
    return Redirect(path, reveal=(once.WEBHOOK_SECRET, secret))


def set_enabled(view: View, tx: Tx) -> Outcome:
    wanted = view.field("enabled")
    if wanted not in ("yes", "no"):
        raise InvalidError("Choose to enable or disable the endpoint")
    org = view.session.org
    endpoint = webhooks.get_endpoint(tx, org, view.params["endpoint_id"])
    webhooks.update_endpoint(tx, org, endpoint, enabled=wanted == "yes")
    return Redirect(
        _endpoint_path(view), "webhook-enabled" if wanted == "yes" else "webhook-disabled"
    )


def delete_webhook(view: View, tx: Tx) -> Outcome:
    org = view.session.org
    webhooks.delete_endpoint(tx, org, webhooks.get_endpoint(tx, org, view.params["endpoint_id"]))
    return Redirect("/console/webhooks", "webhook-deleted")


def resend_delivery(view: View, tx: Tx) -> Outcome:
    org = view.session.org
    endpoint = webhooks.get_endpoint(tx, org, view.params["endpoint_id"])
    delivery = webhooks.get_delivery(tx, org, view.params["delivery_id"])
    if delivery.endpoint_id != endpoint.id:
        raise InvalidError("This delivery belongs to another endpoint")
    webhooks.resend(tx, org, delivery)
    return Redirect(_endpoint_path(view), "delivery-resent")


PAGES = [
    ("/console/webhooks", WEBHOOKS),
    ("/console/webhooks/{endpoint_id}", WEBHOOK),
    ("/console/webhooks/{endpoint_id}/delete", DELETE_WEBHOOK),
]
ACTIONS = [
    ("/console/webhooks", Action(create_webhook, WEBHOOKS)),
    ("/console/webhooks/{endpoint_id}/enabled", Action(set_enabled, WEBHOOK)),
    ("/console/webhooks/{endpoint_id}/delete", Action(delete_webhook, DELETE_WEBHOOK)),
    (
        "/console/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend",
        Action(resend_delivery, WEBHOOK),
    ),
]
