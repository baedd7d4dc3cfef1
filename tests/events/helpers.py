"""Reading what the feed holds, in committed transactions of their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from scimitar.domain import events
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.events import Event
from scimitar.domain.models import Org
from scimitar.domain.sealed_secrets import deployment_sealer
from scimitar.domain.sealing import Sealer
from scimitar.storage.database import Database


def sealer(db: Database) -> Sealer:
    """The Sealer every process of this test deployment uses (no SCIMITAR_SECRET_KEY)."""
    return deployment_sealer(db, None)


@contextmanager
def write(db: Database) -> Iterator[Tx]:
    with db.write() as conn:
        yield Tx(conn, CLI_ACTOR)


def feed(db: Database, org: Org, after: int = 0) -> list[Event]:
    with db.read() as conn:
        return events.read_feed(Tx(conn, CLI_ACTOR), org.id, after=after, limit=1000)


def types(found: list[Event]) -> list[str]:
    return [event.type for event in found]


def last(db: Database, org: Org) -> int:
    with db.read() as conn:
        return events.last_seq(Tx(conn, CLI_ACTOR), org.id)
