"""Reading what the feed holds, in committed transactions of their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.events import feed
from scimitar.domain.events.feed import Event
from scimitar.domain.identity.sealed_secrets import deployment_sealer
from scimitar.domain.identity.sealing import Sealer
from scimitar.domain.models import Org
from scimitar.storage.database import Database


def sealer(db: Database) -> Sealer:
    """The Sealer every process of this test deployment uses (no SCIMITAR_SECRET_KEY)."""
    return deployment_sealer(db, None)


@contextmanager
def write(db: Database) -> Iterator[Tx]:
    with db.write() as conn:
        yield Tx(conn, CLI_ACTOR)


def feed_of(db: Database, org: Org, after: int = 0) -> list[Event]:
    with db.read() as conn:
        return feed.read_feed(Tx(conn, CLI_ACTOR), org.id, after=after, limit=1000)


def types(found: list[Event]) -> list[str]:
    return [event.type for event in found]


def last(db: Database, org: Org) -> int:
    with db.read() as conn:
        return feed.last_seq(Tx(conn, CLI_ACTOR), org.id)
