"""Events in the console: a member's history (newest first) and the events one
provisioning-log entry produced — or, for a dry run, would have produced."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import names, people
from scimitar.domain.errors import NotFoundError
from scimitar.domain.events import feed
from scimitar.domain.events.feed import Event
from scimitar.domain.records import provisioning
from scimitar.faces.console.page import Page, View, pager
from scimitar.faces.console.readable import readable_request
from scimitar.faces.web.views import iso, member_view, request_view

#: How many of a member's events the console reads (the newest are shown first).
HISTORY_LIMIT = 1000
#: How many the member page shows before its "more" link.
HISTORY_SHOWN = 10
EVENTS_PER_PAGE = 50


def event_view(event: Event) -> dict[str, Any]:
    actor = event.actor
    return {
        "seq": event.seq,
        "type": event.type,
        "at": iso(event.at),
        "actor": actor.get("label") or actor.get("kind"),
        "resource": _resource(event.resource_type, event.resource_id),
        "changed": event.changed,
    }


def would_be_view(summary: dict[str, Any]) -> dict[str, Any]:
    """An event a dry run would have produced (`PendingEvent.summary()`)."""
    resource = summary.get("resource") or {}
    return {
        "seq": None,
        "type": summary.get("type"),
        "at": None,
        "actor": None,
        "resource": _resource(resource.get("type"), resource.get("id")),
        "changed": summary.get("changed"),
    }


def _resource(kind: str | None, resource_id: str | None) -> dict[str, Any]:
    href = None
    if kind == "member" and resource_id:
        href = f"/console/members/{resource_id}"
    elif kind == "group" and resource_id:
        href = f"/console/groups/{resource_id}"
    return {"type": kind, "id": resource_id, "href": href, "name": None}


def with_names(tx: Tx, view: View, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event's resource named as a person reads it (the id stays in the link)."""
    refs = [(e["resource"]["type"], e["resource"]["id"]) for e in shown]
    known = names.names_of(tx, view.session.org.id, refs)
    for event, ref in zip(shown, refs, strict=True):
        event["resource"]["name"] = known.get(ref)
    return shown


def member_events(tx: Tx, view: View, member_id: str) -> list[dict[str, Any]]:
    """The member's events, newest first (at most `HISTORY_LIMIT`)."""
    found = feed.member_history(tx, view.session.org, member_id, limit=HISTORY_LIMIT)
    return [event_view(e) for e in reversed(found)]


def recent_member_events(tx: Tx, view: View, member_id: str) -> dict[str, Any]:
    """What the member page shows: the newest few, and whether there are more."""
    found = member_events(tx, view, member_id)
    return {
        "events": with_names(tx, view, found[:HISTORY_SHOWN]),
        "more": len(found) > HISTORY_SHOWN,
    }


def load_member_events(view: View, tx: Tx) -> dict[str, Any]:
    org = view.session.org
    member = people.get_member(tx, org, view.params["member_id"])
    found = member_events(tx, view, member.id)
    pages = pager(len(found), view.page_number(), EVENTS_PER_PAGE)
    return {
        "member": member_view(member),
        "events": with_names(tx, view, found[pages["offset"] : pages["offset"] + EVENTS_PER_PAGE]),
        "pager": pages,
        "limit": HISTORY_LIMIT,
    }


def _entry_id(view: View) -> int:
    raw = view.params["entry_id"]
    # An id past the column's range is no entry (and would overflow SQLite's integers).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFoundError("No such provisioning-log entry")
    return int(raw)


def load_entry_events(view: View, tx: Tx) -> dict[str, Any]:
    org = view.session.org
    entry_id = _entry_id(view)
    found = provisioning.recent_requests(tx, org, limit=1, before=entry_id + 1)
    if not found or found[0].id != entry_id:
        raise NotFoundError("No such provisioning-log entry")
    entry = found[0]
    if entry.dry_run:
        produced = [would_be_view(s) for s in entry.changes or []]
    else:
        produced = [event_view(e) for e in feed.events_of_request(tx, org, entry_id)]
    return {
        "entry": readable_request(request_view(entry)),
        "dry_run": entry.dry_run,
        "events": with_names(tx, view, produced),
    }


PAGES = [
    (
        "/console/members/{member_id}/events",
        Page("member_events.html", load_member_events, "members"),
    ),
    (
        "/console/provisioning/{entry_id}",
        Page("provisioning_entry.html", load_entry_events, "provisioning"),
    ),
]
