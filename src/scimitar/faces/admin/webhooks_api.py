"""`/webhooks`: an org's endpoints (the signing secret shown once, at creation), their
delivery log, and re-send."""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.errors import InvalidError
from scimitar.domain.events import webhooks
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.wire import ApiCall, Reply, bad_request

STATES = ("pending", "succeeded", "failed")


def create_webhook(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("url", "events"))
    if "url" not in body:
        raise InvalidError("url is required")
    assert call.sealer is not None
    endpoint, secret = webhooks.create_endpoint(
        tx,
        who.org,
        body["url"],
        body.get("events", ["*"]),
        sealer=call.sealer,
        allow=call.webhook_hosts,
    )
    return 201, {**endpoint.to_json(), "secret": secret}


def list_webhooks(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, {"webhooks": [e.to_json() for e in webhooks.list_endpoints(tx, who.org)]}


def get_webhook(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, webhooks.get_endpoint(tx, who.org, call.params["endpoint_id"]).to_json()


def update_webhook(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("url", "events", "enabled"))
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise bad_request("enabled must be true or false")
    endpoint = webhooks.get_endpoint(tx, who.org, call.params["endpoint_id"])
    updated = webhooks.update_endpoint(
        tx,
        who.org,
        endpoint,
        url=body.get("url"),
        event_types=body.get("events"),
        enabled=enabled,
        allow=call.webhook_hosts,
    )
    return 200, updated.to_json()


def delete_webhook(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    webhooks.delete_endpoint(
        tx, who.org, webhooks.get_endpoint(tx, who.org, call.params["endpoint_id"])
    )
    return 204, None


def list_deliveries(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    limit = call.integer("limit", 50, low=1, high=500)
    state = call.choice("state", STATES)
    endpoint = webhooks.get_endpoint(tx, who.org, call.params["endpoint_id"])
    found = webhooks.list_deliveries(tx, who.org, endpoint, limit=limit, state=state)
    return 200, {"deliveries": [d.to_json() for d in found]}


def resend_delivery(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    delivery = webhooks.get_delivery(tx, who.org, call.params["delivery_id"])
    return 202, webhooks.resend(tx, who.org, delivery).to_json()
