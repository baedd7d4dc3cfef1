"""The token bucket, and the limiter the faces ask before running a request.

A credential's bucket holds up to `rate × BURST_SECONDS` tokens and refills at `rate` a
second; a request takes one token, or is refused with the time until one is back. The
stores (`file_store`, `redis_store`) keep the buckets where every process sees them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

log = logging.getLogger("scimitar.runtime.rate_limits")

#: Requests per second per SCIM key: 4× the 25 a second Entra's gallery asks a server to
#: take, and several times what Okta's provisioning sends one app.
DEFAULT_SCIM_RATE = 100
#: Requests per second per admin API token.
DEFAULT_API_RATE = 50
#: A bucket holds this many seconds of requests: the burst a client may send at once.
BURST_SECONDS = 5


class Face(StrEnum):
    SCIM = "scim"
    API = "api"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Seconds until the next request would pass (0 when allowed).
    wait: float = 0.0

    @property
    def retry_after(self) -> int:
        """`Retry-After`: whole seconds, rounded up, at least 1."""
        return max(1, math.ceil(self.wait))


class RateLimited(Exception):
    """A credential spent its bucket: answer 429 with `Retry-After`."""

    def __init__(self, face: Face, decision: Decision) -> None:
        super().__init__(f"Too many requests; retry after {decision.retry_after} s")
        self.face = face
        self.retry_after = decision.retry_after

    @property
    def detail(self) -> str:
        credential = "SCIM key" if self.face is Face.SCIM else "API token"
        return (
            f"Too many requests for this {credential}; retry after {self.retry_after} "
            f"second{'s' if self.retry_after != 1 else ''}"
        )


class BucketStore(Protocol):
    def take(self, bucket: str, rate: float, capacity: float) -> Decision:
        """Take one token from `bucket` (made full on first use)."""
        ...

    def close(self) -> None: ...


def refill(tokens: float, stamp: float, now: float, rate: float, capacity: float) -> float:
    """The tokens a bucket holds at `now`; a stamp from the future (the clock restarted,
    say after a reboot) counts as a full bucket."""
    if now < stamp:
        return capacity
    return min(capacity, tokens + (now - stamp) * rate)


def take_one(tokens: float, rate: float) -> tuple[float, Decision]:
    """Spend a token if there is one: the tokens left and the decision."""
    if tokens >= 1:
        return tokens - 1, Decision(True)
    return tokens, Decision(False, (1 - tokens) / rate)


class Limiter:
    """Asks the store for one token of a credential's bucket; a rate of 0 is no limit.
    `store` None: limits are off."""

    def __init__(
        self,
        store: BucketStore | None,
        *,
        scim_rate: int = DEFAULT_SCIM_RATE,
        api_rate: int = DEFAULT_API_RATE,
    ) -> None:
        self.store = store
        self.rates = {Face.SCIM: scim_rate, Face.API: api_rate}
        self._store_failed = False

    def check(self, face: Face, credential_id: str, org_rate: int | None = None) -> None:
        """Raise `RateLimited` when the credential is over its rate (the org's own when it
        has one, else the deployment's)."""
        rate = self.rates[face] if org_rate is None else org_rate
        if self.store is None or rate <= 0:
            return
        try:
            decision = self.store.take(f"{face}:{credential_id}", rate, rate * BURST_SECONDS)
        except Exception:  # an unreachable store must not take the service down with it
            if not self._store_failed:
                log.exception("rate-limit store failed; requests pass unlimited meanwhile")
            self._store_failed = True
            return
        self._store_failed = False
        if not decision.allowed:
            raise RateLimited(face, decision)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
