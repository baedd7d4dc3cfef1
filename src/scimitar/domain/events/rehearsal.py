"""Rehearsing a change: it is made for real, by the same domain operation that would make
it (so it is validated the same way), inside a savepoint that is then rolled back; the
events it queued are taken out of the transaction's outbox and handed back as what it
would have produced. Dry-run provisioning and grant previews both rehearse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from scimitar.domain.context import Tx
from scimitar.domain.events import feed
from scimitar.domain.events.feed import PendingEvent


@dataclass
class Rehearsal:
    #: False: the change stands (nothing was rehearsed).
    undone: bool
    #: What the change would have produced (filled when the rehearsed block ends).
    events: list[PendingEvent] = field(default_factory=list)


@contextmanager
def rehearse(tx: Tx, *, undo: bool = True) -> Iterator[Rehearsal]:
    """Run the block's change and, when `undo`, take it back, keeping its events in the
    `Rehearsal`; without `undo` the change stands, as if not rehearsed."""
    rehearsal = Rehearsal(undo)
    if not undo:
        yield rehearsal
        return
    position = feed.mark(tx)
    savepoint = tx.conn.begin_nested()
    try:
        yield rehearsal
    finally:
        rehearsal.events = feed.take_since(tx, position)
        savepoint.rollback()
