"""Who acts, and the transaction they act in."""

from __future__ import annotations

import uuid
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
    return str(uuid.uuid4())


def fold(value: str) -> str:
    """The case-insensitive comparison key of a string (RFC 7643 caseExact=false)."""
    return value.lower()
