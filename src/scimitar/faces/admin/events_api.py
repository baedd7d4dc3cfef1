"""The change feed over HTTP: `GET /api/v1/events`, member history, request diagnostics.

The feed is read in order and resumed with `after=<the last seq seen>`. `wait=N` long-polls:
the pipeline runs `list_events` again, each time in a read transaction of its own, until it
finds something or N seconds pass (`AdminApi`), so a consumer sees a change within about
`POLL_INTERVAL` of its commit without holding a thread or a transaction meanwhile.
"""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.directory import people
from scimitar.domain.events import feed
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.wire import ApiCall, ApiError, Reply

POLL_INTERVAL = 0.2
MAX_WAIT = 60


def list_events(call: ApiCall, tx: Tx, who: Principal) -> Reply | None:
    """A page of the feed after `after`; None (to wait for more) when nothing is newer."""
    after = call.integer("after", 0, high=2**62)
    limit = call.integer("limit", 100, low=1, high=feed.MAX_LIMIT)
    types = [t.strip() for t in call.text("types").split(",") if t.strip()]
    found = [
        e.to_json() for e in feed.read_feed(tx, who.org.id, after=after, limit=limit, types=types)
    ]
    if not found and call.waiting:
        return None
    return 200, {"events": found, "next_after": found[-1]["seq"] if found else after}


def member_events(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    member = people.get_member(tx, who.org, call.params["member_id"])
    return 200, {"events": [e.to_json() for e in feed.member_history(tx, who.org, member.id)]}


def request_events(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    raw_id = call.params["entry_id"]
    # An id past the column's range is no entry (and would overflow SQLite's integers).
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        raise ApiError(404, "not_found", "No such provisioning-log entry")
    entry_id = int(raw_id)
    found = feed.events_of_request(tx, who.org, entry_id)
    return 200, {"request_id": entry_id, "events": [e.to_json() for e in found]}
