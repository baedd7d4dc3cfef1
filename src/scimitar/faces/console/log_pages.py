"""The audit log and the provisioning log: filterable, newest first, paged by `before`."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import listings, names
from scimitar.faces.console.page import PER_PAGE, Page, View
from scimitar.faces.console.readable import readable_request
from scimitar.faces.web.lookups import ACTOR_KINDS, METHODS
from scimitar.faces.web.views import audit_view, cursor_page, request_view

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")


def _before(view: View) -> int | None:
    raw = view.arg("before")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def load_audit(view: View, tx: Tx) -> dict[str, Any]:
    actor_kind = view.arg("actor_kind")
    entries = listings.audit_entries(
        tx,
        view.session.org,
        action=view.arg("action"),
        actor_kind=actor_kind if actor_kind in ACTOR_KINDS else "",
        resource_type=view.arg("resource_type"),
        resource_id=view.arg("resource_id"),
        before=_before(view),
        limit=PER_PAGE + 1,
    )
    shown = [audit_view(e) for e in entries]
    known = names.names_of(
        tx, view.session.org.id, [(e["resource_type"], e["resource_id"]) for e in shown]
    )
    for entry in shown:
        entry["resource_name"] = known.get((entry["resource_type"], entry["resource_id"]))
    return {
        "page": cursor_page(shown, PER_PAGE),
        "actor_kinds": ACTOR_KINDS,
        "filters": {
            key: view.arg(key) for key in ("action", "actor_kind", "resource_type", "resource_id")
        },
    }


def load_provisioning(view: View, tx: Tx) -> dict[str, Any]:
    status = view.arg("status")
    method = view.arg("method")
    entries = listings.provisioning_entries(
        tx,
        view.session.org,
        method=method if method in METHODS else "",
        status_class=int(status[0]) if status in STATUS_CLASSES else None,
        path=view.arg("path"),
        before=_before(view),
        limit=PER_PAGE + 1,
    )
    return {
        "page": cursor_page([readable_request(request_view(e)) for e in entries], PER_PAGE),
        "methods": METHODS,
        "status_classes": STATUS_CLASSES,
        "filters": {key: view.arg(key) for key in ("method", "status", "path")},
    }


PAGES = [
    ("/console/audit", Page("audit.html", load_audit, "audit")),
    ("/console/provisioning", Page("provisioning.html", load_provisioning, "provisioning")),
]
