"""Who acts, and the transaction they act in."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection


class ActorKind(StrEnum):
    SCIM_KEY = "scim_key"
    CONSOLE = "console"
    API_TOKEN = "api_token"
    CLI = "cli"
    SYSTEM = "system"
    #: The host platform's operator token (deployment level, PRODUCT.md §6).
    OPERATOR = "operator"
    #: Someone who opened a setup link (no account of their own).
    SETUP_LINK = "setup_link"


@dataclass(frozen=True)
class Actor:
    """Who made a change: recorded in the audit log with every change."""

    kind: ActorKind
    label: str
    id: str | None = None

    @property
    def over_scim(self) -> bool:
        return self.kind is ActorKind.SCIM_KEY


CLI_ACTOR = Actor(ActorKind.CLI, "cli")
SYSTEM_ACTOR = Actor(ActorKind.SYSTEM, "scimitar")


@dataclass
class Tx:
    """One domain operation's unit of work: a database transaction and its actor."""

    conn: Connection
    actor: Actor
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def new_id() -> str:
    """A random (version 4) UUID as text. Built from the bytes directly: `str(uuid4())`
    cost a fifth of a 10 000-member group replace (one id per event)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_ordered_id() -> str:
    """A time-ordered (version 7) UUID as text: the milliseconds since the epoch first, then
    random bits. For rows written many at a time and never looked up by range (events): each
    new id lands at the end of the primary key's index instead of on a random page of it,
    which on SQLite made a deactivation out of 100 groups write 100 scattered index pages."""
    return new_ordered_ids(1)[0]


def new_ordered_ids(count: int) -> list[str]:
    """`count` ids (`new_ordered_id`) of one millisecond: one clock read and one draw of
    random bytes for all (the 100 events of a deactivation out of 100 groups)."""
    millis = (time.time_ns() // 1_000_000).to_bytes(6, "big").hex()
    head = f"{millis[:8]}-{millis[8:]}-7"
    # Per id, 10 random bytes as 20 hex digits: the version takes the first digit's place,
    # the variant the top two bits of the fifth.
    rand = os.urandom(10 * count).hex()
    ids = []
    for i in range(0, 20 * count, 20):
        r = rand[i : i + 20]
        ids.append(f"{head}{r[1:4]}-{_VARIANT[r[4]]}{r[5:8]}-{r[8:]}")
    return ids


#: A hex digit with its top two bits set to the RFC 4122 variant (`10`).
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive ones; every
    timestamp is stored in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fold(value: str) -> str:
    """The case-insensitive comparison key of a string (RFC 7643 caseExact=false)."""
    return value.lower()
